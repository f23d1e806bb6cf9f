using System.Text.Json.Nodes;
using MMEureka.Data;

namespace MMEureka.Prm;

/// <summary>
/// The training paths in TRL's stepwise-supervision format (one JSON object per line: <c>prompt</c>, the question;
/// <c>completions</c>, the steps with the answer last as <c>&lt;answer&gt;X&lt;/answer&gt;</c>; <c>labels</c>, one
/// boolean per step), so the same data trains a PRM with TRL's PRMTrainer. TRL's labels are booleans: the hard label
/// MC &gt; 0. <c>image</c> carries the problem's image path (relative to the MiniK12 folder), which a text-only TRL
/// run ignores.
/// </summary>
public static class TrlExport
{
    /// <summary>One example as a TRL stepwise-supervision record.</summary>
    public static JsonObject Record(StepExample example, Problem problem)
    {
        var completions = example.Steps.Select(s => (JsonNode?)JsonValue.Create(s)).ToList();
        if (example.Answer != null) completions.Add(JsonValue.Create($"<answer>{example.Answer}</answer>"));
        return new JsonObject
        {
            ["prompt"] = problem.Question,
            ["completions"] = new JsonArray([.. completions]),
            ["labels"] = new JsonArray(example.HardLabels.Select(l => (JsonNode?)JsonValue.Create(l > 0)).ToArray()),
            ["image"] = problem.ImagePath,
        };
    }

    /// <summary>Writes the examples as TRL JSON lines through a temporary file and a rename.</summary>
    public static void Write(string path, IEnumerable<StepExample> examples, IReadOnlyDictionary<string, Problem> problems) =>
        Runs.RunFolder.WriteAtomically(path, string.Concat(examples.Select(e =>
            Record(e, problems.TryGetValue(e.ProblemId, out var p) ? p : throw new ArgumentException($"no problem {e.ProblemId} for a TRL record")).ToJsonString(Readable) + "\n")));

    // Plain "+", "<" and ">" in the text (the default encoder writes \u002B and friends, valid but unreadable).
    private static readonly System.Text.Json.JsonSerializerOptions Readable = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
