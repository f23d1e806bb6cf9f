using MMEureka.Data;
using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

/// <summary>The search against a scripted policy whose MC values are known: first error, estimates, budgets, stop
/// rules, the pool, and determinism.</summary>
public sealed class OmegaPrmTests
{
    private static OmegaPrmConfig Config(int k = 16, int searches = 20, int budget = 100_000) =>
        new() { K = k, MaxSearches = searches, RolloutBudget = budget, Seed = 3 };

    private static List<SearchTree> Search(ScriptedPolicy policy, OmegaPrmConfig config, int problems = 1, int concurrency = 1)
    {
        var list = Enumerable.Range(0, problems).Select(i => ScriptedPolicy.MakeProblem($"p{i}")).ToList();
        var trees = new SearchTree[problems];
        var batcher = new RolloutBatcher(policy);
        batcher.RunAll(Enumerable.Range(0, problems).ToList(), concurrency,
            i => OmegaPrm.Run(list[i], i, config, batcher.Request), (i, t) => trees[i] = t);
        return [.. trees];
    }

    // 7 thoughts + the answer = 8 steps: a binary search needs ceil(log2 8) = 3 MC estimates at most (the answer
    // alone is judged by the verifier).
    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)] // only the answer is wrong
    public void TheFirstSearchFindsTheScriptedErrorInAtMostLog2nEstimates(int errorStep)
    {
        var policy = new ScriptedPolicy(7, errorStep, 0.5);
        var tree = Search(policy, Config(searches: 1)).Single();
        Assert.InRange(tree.Root.Mc, 0.01, 0.99);
        var search = Assert.Single(tree.Searches);
        Assert.Equal(0, search.StateId);
        Assert.Equal(8, search.RolloutSteps.Count);
        Assert.Equal(errorStep, search.FirstError);
        Assert.InRange(search.Estimates, 1, 3);
        Assert.Equal(search.Estimates * 16, search.Rollouts);
        Assert.Equal(16 + search.Rollouts, tree.TotalRollouts);
        Assert.Equal("max_searches", tree.StopReason);
    }

    [Fact]
    public void McValuesAreZeroAfterTheErrorAndNearPBeforeIt()
    {
        const double p = 0.6; // 0.4^16: an error-free prefix almost never estimates 0 by chance
        var policy = new ScriptedPolicy(6, 4, p);
        var trees = Search(policy, Config(k: 16, searches: 4), problems: 40, concurrency: 8);
        var before = new List<double>();
        int zeros = 0;
        foreach (var node in trees.SelectMany(t => t.Nodes).Where(n => n.Kind == NodeKind.Estimated || n.Kind == NodeKind.Root))
        {
            var thoughts = node.Thoughts();
            if (thoughts.Contains(ScriptedPolicy.Wrong)) { Assert.Equal(0, node.Mc); zeros++; }
            else if (thoughts.Count <= 4) before.Add(node.Mc);
            else Assert.Equal(1, node.Mc); // gold past the mistake's place always ends right
        }
        Assert.True(zeros >= 40, $"only {zeros} prefixes with the mistake were estimated");
        // Each estimate is Binomial(16, p) / 16; their mean is within 4 standard errors of p.
        double se = Math.Sqrt(p * (1 - p) / 16 / before.Count);
        Assert.InRange(before.Average(), p - 4 * se, p + 4 * se);
        Assert.True(before.Count >= 80, $"only {before.Count} error-free prefixes");
        Assert.All(trees.SelectMany(t => t.Searches), s => Assert.True(s.FirstError is null or 4, $"first error {s.FirstError}"));
    }

    [Fact]
    public void TrainingPathsEndAtTheScriptedError()
    {
        var policy = new ScriptedPolicy(6, 2, 0.5);
        var config = Config(searches: 5);
        var tree = Search(policy, config).Single();
        var examples = TrainingPaths.FromTree(tree, config);
        var negatives = examples.Where(e => e.Labels[^1] == 0).ToList();
        var positives = examples.Where(e => e.Labels[^1] > 0).ToList();
        Assert.NotEmpty(negatives);
        Assert.InRange(positives.Count, 1, negatives.Count);
        foreach (var e in negatives)
        {
            Assert.Null(e.Answer);
            Assert.Equal(ScriptedPolicy.Wrong, e.Steps[^1]); // the only thought after which nothing ends right
            Assert.All(e.Labels.SkipLast(1), l => Assert.True(l > 0));
        }
        foreach (var e in positives)
        {
            Assert.Equal("7", e.Answer);
            Assert.DoesNotContain(ScriptedPolicy.Wrong, e.Steps);
        }
        Assert.Equal(examples.Count, examples.Select(e => string.Join('\n', e.Steps) + "|" + e.Answer).Distinct().Count());
    }

    [Fact]
    public void BudgetsAndStopRulesHold()
    {
        var policy = new ScriptedPolicy(7, 5, 0.5);
        // The rollout budget is checked between searches: no search starts once the budget is reached.
        foreach (int budget in new[] { 16, 17, 40, 100 })
        {
            var tree = Search(policy, Config(budget: budget)).Single();
            int spent = tree.Root.Rollouts;
            foreach (var s in tree.Searches)
            {
                Assert.True(spent < budget, $"search {s.Number} started with {spent} of {budget} rollouts spent");
                spent += s.Rollouts;
            }
            Assert.Equal(spent, tree.TotalRollouts);
            Assert.True(tree.StopReason == "rollout_budget" && spent >= budget || tree.StopReason == "empty_pool", tree.StopReason);
        }
        Assert.Empty(Search(policy, Config(budget: 16)).Single().Searches);
        Assert.Equal(3, Search(policy, Config(searches: 3)).Single().Searches.Count);

        // Root always right or always wrong: nothing enters the pool, no search.
        foreach (var p in new[] { 0.0, 1.0 })
        {
            var tree = Search(new ScriptedPolicy(5, p == 0 ? 0 : 5, p), Config()).Single();
            Assert.Equal(p, tree.Root.Mc);
            Assert.Empty(tree.Searches);
            Assert.Equal("empty_pool", tree.StopReason);
            Assert.Equal(16, tree.TotalRollouts);
            Assert.Empty(TrainingPaths.FromTree(tree, Config()));
        }
    }

    [Fact]
    public void ASearchedRolloutNeverReturnsAndTheSearchEndsWhenThePoolIsEmpty()
    {
        var tree = Search(new ScriptedPolicy(7, 5, 0.5), Config(searches: 1000)).Single();
        Assert.Equal("empty_pool", tree.StopReason);
        var searched = tree.Searches.Select(s => (s.StateId, string.Join('\n', s.RolloutSteps))).ToList();
        Assert.Equal(searched.Count, searched.Distinct().Count());
        // Every candidate (a distinct wrong rollout of a state with MC > 0) was searched exactly once.
        int candidates = tree.Nodes.Where(n => n.Mc > 0 && n.Kind is NodeKind.Root or NodeKind.Estimated).Sum(n => n.WrongRollouts.Count);
        Assert.Equal(candidates, tree.Searches.Count);
        // N(s) counts selections.
        foreach (var node in tree.Nodes) Assert.Equal(tree.Searches.Count(s => s.StateId == node.Id), node.Visits);
    }

    [Fact]
    public void TheSameSeedGivesTheSameTreesWhateverTheBatching()
    {
        var policy = new ScriptedPolicy(6, 3, 0.4);
        string Json(List<SearchTree> trees) => string.Join("\n", trees.Select(t => t.ToJson().ToJsonString()));
        var alone = Json(Search(policy, Config(k: 8, searches: 4), problems: 12, concurrency: 1));
        var batched = Search(policy, Config(k: 8, searches: 4), problems: 12, concurrency: 6);
        Assert.Equal(alone, Json(batched));
        Assert.True(policy.LargestBatch > 8, "the searches were never batched together");
        var other = Json(Search(policy, Config(k: 8, searches: 4) with { Seed = 4 }, problems: 12, concurrency: 6));
        Assert.NotEqual(alone, other);
    }

    [Fact]
    public void PerStepEstimationFindsTheSameErrorAtAHigherCost()
    {
        var policy = new ScriptedPolicy(7, 5, 0.5);
        var config = Config(searches: 1);
        var trees = Search(policy, config, problems: 3, concurrency: 3);
        var problems = trees.ToDictionary(t => t.ProblemId, t => ScriptedPolicy.MakeProblem(t.ProblemId));
        var comparison = StepwiseBaseline.Run(trees, problems, policy, config, maxSolutions: 10);
        Assert.Equal(3, comparison.Solutions.Count);
        foreach (var s in comparison.Solutions)
        {
            Assert.Equal(5, s.BinaryFirstError);
            Assert.Equal(5, s.StepwiseFirstError);
            Assert.Equal(7 * 16, s.StepwiseRollouts); // every thought estimated, the answer judged
            Assert.Equal(3 * 16, s.BinaryRollouts);
            Assert.Equal(6, s.BinaryLabels); // steps 0..5, up to the first error
            Assert.Equal(0, s.StepwiseMc[5]);
            Assert.All(s.StepwiseMc.Take(5), m => Assert.True(m > 0));
        }
        Assert.Equal(1.0, comparison.FirstErrorAgreement);
        Assert.Equal(48.0 / 6, comparison.BinaryRolloutsPerLabel, 9);
        Assert.Equal(112.0 / 8, comparison.StepwiseRolloutsPerLabel, 9);
    }

    [Fact]
    public void TreesSurviveAJsonRoundTrip()
    {
        var tree = Search(new ScriptedPolicy(5, 2, 0.5), Config(searches: 3)).Single();
        var path = Path.Combine(Path.GetTempPath(), $"tree-{Guid.NewGuid():N}.json");
        try
        {
            tree.Write(path);
            var back = SearchTree.Read(path);
            Assert.Equal(tree.ToJson().ToJsonString(), back.ToJson().ToJsonString());
            Assert.Equal(
                TrainingPaths.FromTree(tree, Config()).Select(e => e.ToJsonLine()),
                TrainingPaths.FromTree(back, Config()).Select(e => e.ToJsonLine()));
        }
        finally { File.Delete(path); }
    }
}
