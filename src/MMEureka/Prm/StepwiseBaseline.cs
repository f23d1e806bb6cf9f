using System.Text.Json.Nodes;
using MMEureka.Data;

namespace MMEureka.Prm;

/// <summary>One wrong solution labelled both ways: OmegaPRM's binary search (the rollouts it spent and the steps it
/// labelled, up to the first error it located) and Math-Shepherd's per-step estimation (k rollouts after every
/// thought, the answer judged by the verifier).</summary>
public sealed record StepwiseSolution(string ProblemId, int Search, int Steps, int BinaryRollouts, int BinaryLabels, int? BinaryFirstError,
    int StepwiseRollouts, IReadOnlyList<double> StepwiseMc, int? StepwiseFirstError);

/// <summary>The cost comparison over many wrong solutions.</summary>
public sealed record StepwiseComparison(IReadOnlyList<StepwiseSolution> Solutions)
{
    /// <summary>Binary search: rollouts per step label.</summary>
    public double BinaryRolloutsPerLabel => Solutions.Sum(s => (double)s.BinaryRollouts) / Math.Max(1, Solutions.Sum(s => s.BinaryLabels));
    /// <summary>Math-Shepherd: rollouts per step label (every step labelled).</summary>
    public double StepwiseRolloutsPerLabel => Solutions.Sum(s => (double)s.StepwiseRollouts) / Math.Max(1, Solutions.Sum(s => s.Steps));
    /// <summary>Binary search: rollouts per located first error.</summary>
    public double BinaryRolloutsPerSolution => Solutions.Count == 0 ? 0 : Solutions.Average(s => (double)s.BinaryRollouts);
    /// <summary>Math-Shepherd: rollouts per solution.</summary>
    public double StepwiseRolloutsPerSolution => Solutions.Count == 0 ? 0 : Solutions.Average(s => (double)s.StepwiseRollouts);
    /// <summary>Share of solutions where both methods put the first error on the same step (or both found none).</summary>
    public double FirstErrorAgreement => Solutions.Count == 0 ? 0 : Solutions.Count(s => s.BinaryFirstError == s.StepwiseFirstError) / (double)Solutions.Count;

    /// <summary>The comparison as JSON (stepwise.json).</summary>
    public JsonObject ToJson() => new()
    {
        ["solutions"] = Solutions.Count,
        ["binary_rollouts_per_label"] = BinaryRolloutsPerLabel,
        ["stepwise_rollouts_per_label"] = StepwiseRolloutsPerLabel,
        ["binary_rollouts_per_solution"] = BinaryRolloutsPerSolution,
        ["stepwise_rollouts_per_solution"] = StepwiseRolloutsPerSolution,
        ["first_error_agreement"] = FirstErrorAgreement,
        ["per_solution"] = new JsonArray(Solutions.Select(s => (JsonNode)new JsonObject
        {
            ["problem_id"] = s.ProblemId, ["search"] = s.Search, ["steps"] = s.Steps, ["binary_rollouts"] = s.BinaryRollouts,
            ["binary_labels"] = s.BinaryLabels, ["binary_first_error"] = s.BinaryFirstError, ["stepwise_rollouts"] = s.StepwiseRollouts,
            ["stepwise_mc"] = new JsonArray(s.StepwiseMc.Select(m => (JsonNode?)m).ToArray()), ["stepwise_first_error"] = s.StepwiseFirstError,
        }).ToArray()),
    };

    /// <summary>Reads stepwise.json written from <see cref="ToJson"/>; errors name the file.</summary>
    public static StepwiseComparison Read(string path)
    {
        try
        {
            var o = JsonNode.Parse(File.ReadAllText(path))!;
            return new StepwiseComparison(((JsonArray)o["per_solution"]!).Select(s => new StepwiseSolution(
                s!["problem_id"]!.GetValue<string>(), s["search"]!.GetValue<int>(), s["steps"]!.GetValue<int>(),
                s["binary_rollouts"]!.GetValue<int>(), s["binary_labels"]!.GetValue<int>(), s["binary_first_error"]?.GetValue<int>(),
                s["stepwise_rollouts"]!.GetValue<int>(), ((JsonArray)s["stepwise_mc"]!).Select(m => m!.GetValue<double>()).ToList(),
                s["stepwise_first_error"]?.GetValue<int>())).ToList());
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException or NullReferenceException or InvalidCastException)
        {
            throw new InvalidDataException($"{path}: not a stepwise comparison ({e.Message})", e);
        }
    }

    /// <summary>A line for the console.</summary>
    public string Describe() =>
        $"{Solutions.Count} wrong solutions: binary search {BinaryRolloutsPerLabel:F2} rollouts per label ({BinaryRolloutsPerSolution:F1} per solution), " +
        $"per-step MC (Math-Shepherd) {StepwiseRolloutsPerLabel:F2} per label ({StepwiseRolloutsPerSolution:F1} per solution); same first error in {FirstErrorAgreement:P0}";
}

/// <summary>
/// Math-Shepherd's labelling run on the very solutions the binary search examined, for the cost comparison of the
/// issue: every thought of the searched rollout gets its own MC estimate from k rollouts (the prefix up to it), the
/// final answer is judged by the verifier; the first error is the first step whose MC is 0. Its rollouts use their
/// own seeds (<see cref="RolloutPurpose.StepwiseBaseline"/>), so they are fresh draws, not the search's.
/// </summary>
public static class StepwiseBaseline
{
    /// <summary>Labels the searched rollouts of <paramref name="trees"/> (at most <paramref name="maxSolutions"/>, in tree
    /// and search order) step by step. <paramref name="problems"/> maps problem ids to problems.</summary>
    public static StepwiseComparison Run(IReadOnlyList<SearchTree> trees, IReadOnlyDictionary<string, Problem> problems, IRolloutPolicy policy,
        OmegaPrmConfig config, int maxSolutions)
    {
        var work = trees.SelectMany(t => t.Searches.Where(s => s.RolloutSteps.Count > 0).Select(s => (tree: t, search: s)))
            .Take(maxSolutions).ToList();
        var results = new StepwiseSolution[work.Count];
        var batcher = new RolloutBatcher(policy);
        batcher.RunAll(Enumerable.Range(0, work.Count).ToList(), config.Concurrency,
            i => Label(work[i].tree, work[i].search, problems[work[i].tree.ProblemId], config, batcher), (i, r) => results[i] = r);
        return new StepwiseComparison(results);
    }

    private static async Task<StepwiseSolution> Label(SearchTree tree, SearchRecord search, Problem problem, OmegaPrmConfig config, RolloutBatcher batcher)
    {
        var state = tree.Nodes.First(n => n.Id == search.StateId);
        var prefix = state.Thoughts().ToList();
        int offset = prefix.Count, n = search.RolloutSteps.Count;
        int thoughts = search.EndsWithAnswer ? n - 1 : n;
        var requests = new List<Task<IReadOnlyList<string>>>();
        int rollout = 0;
        for (int i = 0; i < thoughts; i++)
        {
            var upTo = prefix.Concat(search.RolloutSteps.Take(i + 1)).ToList();
            var seeds = Enumerable.Range(0, config.K)
                .Select(_ => RolloutSeeds.For(config.Seed, tree.ProblemIndex, search.Number, rollout++, RolloutPurpose.StepwiseBaseline)).ToList();
            requests.Add(batcher.Request(new RolloutRequest(problem, new Solution(upTo, null).Prefix(upTo.Count), seeds)));
        }
        var mc = new List<double>();
        for (int i = 0; i < thoughts; i++)
        {
            var texts = await requests[i];
            var upTo = prefix.Concat(search.RolloutSteps.Take(i + 1)).ToList();
            mc.Add(texts.Count(t => OmegaPrm.IsCorrect(problem, new Solution(upTo, null).Prefix(upTo.Count) + t)) / (double)texts.Count);
        }
        if (search.EndsWithAnswer) mc.Add(0); // the searched rollout is a wrong one: the verifier rejects its answer
        int first = mc.FindIndex(m => m == 0);
        int binaryLabels = search.FirstError is { } e ? e - offset + 1 : n;
        return new StepwiseSolution(tree.ProblemId, search.Number, n, search.Rollouts, binaryLabels, search.FirstError,
            thoughts * config.K, mc, first < 0 ? null : offset + first);
    }
}
