using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Rl;

/// <summary>
/// <c>--set key=value</c> on an <see cref="RlConfig"/>: the keys are config.json's snake_case field names
/// (<c>learning_rate=1e-4</c>, <c>epochs=4</c>, <c>estimator=cpgd_equal</c>); the loss constants are reached as
/// <c>loss.eps</c> or simply <c>eps</c>. The value is read as the field's own type (number, true/false, or an
/// enum's snake_case name), so a typo fails naming the key instead of silently training something else.
/// </summary>
public static class RlOverrides
{
    // Names, not knobs: the sweep sets them from --algos and --preset.
    private static readonly HashSet<string> Fixed = ["algo", "preset"];

    /// <summary>Applies the assignments in order and validates the result; an error names the key.</summary>
    public static RlConfig Apply(RlConfig config, IEnumerable<string> assignments)
    {
        var json = JsonNode.Parse(config.ToJson())!.AsObject();
        foreach (string assignment in assignments)
        {
            int eq = assignment.IndexOf('=');
            if (eq <= 0) throw new ArgumentException($"--set '{assignment}': expected key=value (e.g. learning_rate=1e-4)");
            string key = assignment[..eq].Trim(), value = assignment[(eq + 1)..].Trim();
            if (Fixed.Contains(key)) throw new ArgumentException($"--set {key}: not settable (choose it with --{key}{(key == "algo" ? "s" : "")})");
            var (holder, field) = Locate(json, key);
            holder[field] = Parse(key, holder[field], value);
        }
        RlConfig result;
        try { result = JsonSerializer.Deserialize<RlConfig>(json.ToJsonString(), RlConfig.JsonOptions)!; }
        catch (JsonException e) { throw new ArgumentException($"--set {KeyOf(e.Path)}: {Explain(e)}"); }
        try { return result.Validate(); }
        catch (ArgumentException e) { throw new ArgumentException($"--set: {e.Message}"); }
    }

    /// <summary>The settable keys (top-level and loss.*), for error messages and help.</summary>
    public static IReadOnlyList<string> Keys(RlConfig config)
    {
        var json = JsonNode.Parse(config.ToJson())!.AsObject();
        var keys = json.Where(p => p.Value is not JsonObject && !Fixed.Contains(p.Key)).Select(p => p.Key).ToList();
        keys.AddRange(json["loss"]!.AsObject().Select(p => "loss." + p.Key));
        return keys;
    }

    private static (JsonObject holder, string field) Locate(JsonObject json, string key)
    {
        var loss = json["loss"]!.AsObject();
        if (key.StartsWith("loss.", StringComparison.Ordinal) && loss.ContainsKey(key[5..])) return (loss, key[5..]);
        if (json.ContainsKey(key) && json[key] is not JsonObject) return (json, key);
        if (loss.ContainsKey(key)) return (loss, key);
        throw new ArgumentException($"--set {key}: unknown key (known: {string.Join(", ", Keys(RlConfig.ForPreset("quick")))})");
    }

    private static JsonNode Parse(string key, JsonNode? current, string value)
    {
        if (current is not JsonValue v) throw new ArgumentException($"--set {key}: not a plain value");
        switch (v.GetValueKind())
        {
            case JsonValueKind.Number:
                if (!double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out double x) || !double.IsFinite(x))
                    throw new ArgumentException($"--set {key}: '{value}' is not a number");
                return JsonValue.Create(x)!;
            case JsonValueKind.True:
            case JsonValueKind.False:
                return value.ToLowerInvariant() switch
                {
                    "true" or "1" or "on" => JsonValue.Create(true),
                    "false" or "0" or "off" => JsonValue.Create(false),
                    _ => throw new ArgumentException($"--set {key}: '{value}' is not true or false"),
                };
            case JsonValueKind.String:
                return JsonValue.Create(value)!;
            default:
                throw new ArgumentException($"--set {key}: cannot be set");
        }
    }

    // System.Text.Json reports "$.loss.eps" or "$.epochs"; the user typed the snake_case key.
    private static string KeyOf(string? path) => path is null ? "?" : path.TrimStart('$', '.');

    // The field's type by its snake_case path, to say what was expected (an enum lists its names).
    private static string Explain(JsonException e)
    {
        var parts = KeyOf(e.Path).Split('.');
        var type = typeof(RlConfig);
        foreach (string part in parts)
        {
            var property = type.GetProperties().FirstOrDefault(p => JsonNamingPolicy.SnakeCaseLower.ConvertName(p.Name) == part);
            if (property == null) return "invalid value";
            type = property.PropertyType;
        }
        if (type.IsEnum)
            return "unknown value (expected " + string.Join(", ", Enum.GetNames(type).Select(JsonNamingPolicy.SnakeCaseLower.ConvertName)) + ")";
        return type == typeof(int) || type == typeof(long) ? "expected a whole number" : $"expected a {type.Name}";
    }
}
