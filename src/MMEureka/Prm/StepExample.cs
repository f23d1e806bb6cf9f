using System.Text.Json;
using System.Text.Json.Nodes;

namespace MMEureka.Prm;

/// <summary>
/// One labelled path for PRM training, as the annotator writes it and the PRM trainer reads it: a problem, the
/// thought steps of the path, the final answer when the path reaches one, and one label in [0, 1] per step (the
/// thoughts first, then the answer). A label is the step's Monte Carlo value, MM-PRM's soft label; the answer's
/// label is the verifier's 0 or 1. <see cref="HardLabels"/> gives Math-Shepherd's hard variant (MC &gt; 0).
/// One JSON object per line in <c>steps.jsonl</c>: <c>problem_id</c>, <c>steps</c>, <c>answer</c> (string or
/// null), <c>labels</c>.
/// </summary>
public sealed record StepExample(string ProblemId, IReadOnlyList<string> Steps, string? Answer, IReadOnlyList<double> Labels)
{
    /// <summary>The path as a <see cref="Solution"/> (what the PRM scores).</summary>
    public Solution Solution => new(Steps, Answer);

    /// <summary>1 where the soft label is above 0, else 0 (Math-Shepherd's rule; MM-PRM has no hard-label code).</summary>
    public IReadOnlyList<double> HardLabels => Labels.Select(l => l > 0 ? 1.0 : 0.0).ToList();

    /// <summary>Throws naming the field when the example is inconsistent.</summary>
    public StepExample Validate()
    {
        if (string.IsNullOrEmpty(ProblemId)) throw new FormatException("field problem_id is missing or empty");
        int expected = Steps.Count + (Answer != null ? 1 : 0);
        if (Labels.Count != expected)
            throw new FormatException($"field labels has {Labels.Count} values for {Steps.Count} steps{(Answer != null ? " and an answer" : "")} (expected {expected})");
        for (int i = 0; i < Labels.Count; i++)
            if (!(Labels[i] >= 0 && Labels[i] <= 1)) throw new FormatException($"field labels[{i}] = {Labels[i]} is outside [0, 1]");
        if (Steps.Any(s => s.Contains('\n'))) throw new FormatException("field steps: a step may not contain a newline");
        return this;
    }

    /// <summary>The example as one JSON line.</summary>
    public string ToJsonLine() => new JsonObject
    {
        ["problem_id"] = ProblemId,
        ["steps"] = new JsonArray(Steps.Select(s => (JsonNode?)JsonValue.Create(s)).ToArray()),
        ["answer"] = Answer,
        ["labels"] = new JsonArray(Labels.Select(l => (JsonNode?)JsonValue.Create(l)).ToArray()),
    }.ToJsonString();

    /// <summary>Parses one JSON line; errors say which field is wrong.</summary>
    public static StepExample FromJsonLine(string line)
    {
        var o = JsonNode.Parse(line) as JsonObject ?? throw new FormatException("expected a JSON object");
        string id = o["problem_id"]?.GetValue<string>() ?? throw new FormatException("field problem_id is missing");
        var steps = (o["steps"] as JsonArray ?? throw new FormatException("field steps is missing or not an array"))
            .Select((n, i) => n?.GetValue<string>() ?? throw new FormatException($"field steps[{i}] is null")).ToList();
        string? answer = o["answer"]?.GetValue<string>();
        var labels = (o["labels"] as JsonArray ?? throw new FormatException("field labels is missing or not an array"))
            .Select((n, i) => n?.GetValue<double>() ?? throw new FormatException($"field labels[{i}] is null")).ToList();
        return new StepExample(id, steps, answer, labels).Validate();
    }

    /// <summary>Reads a steps.jsonl file; an error names the file and line, and nothing is returned.</summary>
    public static IReadOnlyList<StepExample> ReadJsonl(string path)
    {
        var examples = new List<StepExample>();
        int lineNo = 0;
        foreach (var line in File.ReadLines(path))
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            try { examples.Add(FromJsonLine(line)); }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                throw new FormatException($"{path}:{lineNo}: {e.Message}", e);
            }
        }
        return examples;
    }

    /// <summary>Writes examples as JSON lines through a temporary file and a rename.</summary>
    public static void WriteJsonl(string path, IEnumerable<StepExample> examples) =>
        Runs.RunFolder.WriteAtomically(path, string.Concat(examples.Select(e => e.ToJsonLine() + "\n")));
}
