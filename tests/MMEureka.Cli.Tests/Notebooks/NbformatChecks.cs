using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MMEureka.Cli.Tests.Notebooks;

/// <summary>
/// The nbformat 4.5 schema's structural rules that matter for the runner's output (required and allowed keys per
/// object, cell ids, multiline strings, output kinds). Returns the problems found; empty means valid.
/// </summary>
internal static class NbformatChecks
{
    static readonly Regex Id = new("^[a-zA-Z0-9_-]{1,64}$");

    public static List<string> Problems(JsonObject nb)
    {
        var p = new List<string>();
        Keys(p, "notebook", nb, required: ["cells", "metadata", "nbformat", "nbformat_minor"], allowed: []);
        if (nb["nbformat"]?.GetValue<int>() != 4) p.Add("nbformat != 4");
        if (nb["nbformat_minor"]?.GetValue<int>() != 5) p.Add("nbformat_minor != 5");
        if (nb["metadata"]?["kernelspec"] is JsonObject ks) Keys(p, "kernelspec", ks, ["name", "display_name"], ["language"]);
        if (nb["metadata"]?["language_info"] is JsonObject li && li["name"] is null) p.Add("language_info without name");
        var ids = new HashSet<string>();
        int n = 0;
        foreach (var node in nb["cells"] as JsonArray ?? [])
        {
            n++;
            var where = $"cell {n}";
            if (node is not JsonObject cell) { p.Add($"{where} not an object"); continue; }
            var id = cell["id"]?.GetValue<string>();
            if (id is null || !Id.IsMatch(id)) p.Add($"{where}: bad id '{id}'");
            else if (!ids.Add(id)) p.Add($"{where}: duplicate id {id}");
            if (cell["metadata"] is not JsonObject) p.Add($"{where}: metadata not an object");
            MultilineString(p, where + " source", cell["source"]);
            switch (cell["cell_type"]?.GetValue<string>())
            {
                case "code":
                    Keys(p, where, cell, ["id", "cell_type", "metadata", "source", "outputs", "execution_count"], []);
                    if (cell["execution_count"] is JsonValue ec && !ec.TryGetValue(out int _)) p.Add($"{where}: execution_count not an integer");
                    foreach (var o in cell["outputs"] as JsonArray ?? []) Output(p, where, (JsonObject)o!);
                    break;
                case "markdown" or "raw":
                    Keys(p, where, cell, ["id", "cell_type", "metadata", "source"], ["attachments"]);
                    break;
                default: p.Add($"{where}: bad cell_type"); break;
            }
        }
        return p;
    }

    static void Output(List<string> p, string cell, JsonObject o)
    {
        var kind = o["output_type"]?.GetValue<string>();
        var where = $"{cell} {kind} output";
        switch (kind)
        {
            case "stream":
                Keys(p, where, o, ["output_type", "name", "text"], []);
                if (o["name"]?.GetValue<string>() is not ("stdout" or "stderr")) p.Add($"{where}: bad stream name");
                MultilineString(p, where, o["text"]);
                break;
            case "display_data":
                Keys(p, where, o, ["output_type", "data", "metadata"], ["transient"]);
                Bundle(p, where, o["data"]);
                break;
            case "execute_result":
                Keys(p, where, o, ["output_type", "execution_count", "data", "metadata"], []);
                if (o["execution_count"] is not JsonValue) p.Add($"{where}: execution_count missing");
                Bundle(p, where, o["data"]);
                break;
            case "error":
                Keys(p, where, o, ["output_type", "ename", "evalue", "traceback"], []);
                if (o["traceback"] is not JsonArray tb || tb.Any(l => l is not JsonValue)) p.Add($"{where}: traceback not a list of strings");
                break;
            default: p.Add($"{cell}: unknown output_type {kind}"); break;
        }
    }

    static void Bundle(List<string> p, string where, JsonNode? data)
    {
        if (data is not JsonObject bundle) { p.Add($"{where}: data not an object"); return; }
        foreach (var (mime, value) in bundle)
        {
            if (!mime.Contains('/')) p.Add($"{where}: bad mime type {mime}");
            if (mime.StartsWith("text/")) MultilineString(p, $"{where} {mime}", value);
            // nbformat 4's schema: JSON MIME types (application/json, application/*+json) hold a JSON object.
            if (mime == "application/json" || (mime.StartsWith("application/") && mime.EndsWith("+json")))
                if (value is not JsonObject) p.Add($"{where} {mime}: not a JSON object");
        }
    }

    static void MultilineString(List<string> p, string where, JsonNode? node)
    {
        if (node is JsonValue v && v.TryGetValue(out string? _)) return;
        if (node is JsonArray a && a.All(x => x is JsonValue xv && xv.TryGetValue(out string? _))) return;
        p.Add($"{where}: not a string or list of strings");
    }

    static void Keys(List<string> p, string where, JsonObject o, string[] required, string[] allowed)
    {
        foreach (var r in required) if (!o.ContainsKey(r)) p.Add($"{where}: missing '{r}'");
        foreach (var (k, _) in o) if (!required.Contains(k) && !allowed.Contains(k)) p.Add($"{where}: unexpected '{k}'");
    }
}
