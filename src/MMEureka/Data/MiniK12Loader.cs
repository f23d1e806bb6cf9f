using System.Text.Json;
using MMEureka.Display;
using MMEureka.Rewards;

namespace MMEureka.Data;

/// <summary>A dataset file that fails validation; the message names the file, the line and the field.</summary>
public sealed class MiniK12FormatException(string message) : Exception(message);

/// <summary>
/// Reads MiniK12 splits and validates every record: required fields and their types, the answer type, the gold
/// answer parseable for it (by the <see cref="Verifier"/>), choices present exactly for multiple choice, 2-6 steps,
/// and the image file present. Images are decoded eagerly (48x48 PNGs are small).
/// </summary>
public static class MiniK12
{
    /// <summary>The problems of one split of the dataset in <paramref name="dir"/>, with images.</summary>
    public static IReadOnlyList<Problem> Load(string dir, Split split, bool loadImages = true) =>
        LoadFile(Path.Combine(dir, MiniK12Generator.FileName(split)), dir, loadImages);

    /// <summary>The problems of one JSONL file; image paths are relative to <paramref name="root"/>.</summary>
    public static IReadOnlyList<Problem> LoadFile(string path, string root, bool loadImages = true)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"dataset file not found: {path}", path);
        var problems = new List<Problem>();
        int lineNumber = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNumber++;
            if (string.IsNullOrWhiteSpace(line)) continue;
            problems.Add(ParseLine(line, path, lineNumber, root));
        }
        if (!loadImages) return problems;
        var result = new Problem[problems.Count];
        try
        {
            Parallel.For(0, result.Length, i =>
            {
                var p = problems[i];
                try { result[i] = p with { Image = Png.Load(Path.Combine(root, p.ImagePath)) }; }
                catch (PngFormatException e) { throw new MiniK12FormatException($"{path}: problem {p.Id}: bad image: {e.Message}"); }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Report the first failing image the way a sequential loop would, not wrapped.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
        return result;
    }

    /// <summary>Parses and validates one JSONL line (1-based <paramref name="lineNumber"/> for messages).</summary>
    public static Problem ParseLine(string line, string file, int lineNumber, string root)
    {
        string where = $"{file}:{lineNumber}";
        JsonDocument doc;
        try { doc = JsonDocument.Parse(line); }
        catch (JsonException e) { throw new MiniK12FormatException($"{where}: invalid JSON ({e.Message})"); }
        using (doc)
        {
            var o = doc.RootElement;
            if (o.ValueKind != JsonValueKind.Object) throw new MiniK12FormatException($"{where}: expected a JSON object");
            string Str(string field)
            {
                if (!o.TryGetProperty(field, out var v)) throw new MiniK12FormatException($"{where}: missing field '{field}'");
                if (v.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(v.GetString()))
                    throw new MiniK12FormatException($"{where}: field '{field}' must be a non-empty string");
                return v.GetString()!;
            }
            List<string>? Strings(string field, bool required)
            {
                if (!o.TryGetProperty(field, out var v) || v.ValueKind == JsonValueKind.Null)
                    return required ? throw new MiniK12FormatException($"{where}: missing field '{field}'") : null;
                if (v.ValueKind != JsonValueKind.Array || v.EnumerateArray().Any(e => e.ValueKind != JsonValueKind.String))
                    throw new MiniK12FormatException($"{where}: field '{field}' must be an array of strings");
                return v.EnumerateArray().Select(e => e.GetString()!).ToList();
            }

            string id = Str("id"), subject = Str("subject"), family = Str("family"), level = Str("level");
            string question = Str("question"), answer = Str("answer"), typeName = Str("answer_type"), image = Str("image");
            if (!AnswerTypeNames.TryParse(typeName, out var type))
                throw new MiniK12FormatException($"{where}: field 'answer_type' is '{typeName}', expected integer, fraction, decimal or multiple_choice");
            var steps = Strings("solution_steps", required: true)!;
            if (steps.Count is < 2 or > 6) throw new MiniK12FormatException($"{where}: field 'solution_steps' has {steps.Count} steps, expected 2-6");
            var choices = Strings("choices", required: false);
            if (type == AnswerType.MultipleChoice && choices is not { Count: 4 })
                throw new MiniK12FormatException($"{where}: field 'choices' must hold 4 options for a multiple_choice answer");
            if (type != AnswerType.MultipleChoice && choices is not null)
                throw new MiniK12FormatException($"{where}: field 'choices' is only allowed for multiple_choice answers");
            if (!Verifier.IsValidGold(answer, type, choices))
                throw new MiniK12FormatException($"{where}: field 'answer' '{answer}' is not a valid {typeName} answer");
            if (Path.IsPathRooted(image) || image.Split('/', '\\').Contains(".."))
                throw new MiniK12FormatException($"{where}: field 'image' must be a relative path inside the dataset, got '{image}'");
            var imagePath = Path.Combine(root, image);
            if (!File.Exists(imagePath)) throw new MiniK12FormatException($"{where}: field 'image': file not found: {imagePath}");
            return new Problem(id, subject, family, level, question, answer, type, choices, steps, image);
        }
    }
}
