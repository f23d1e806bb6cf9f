using System.Text.Json.Nodes;
using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

/// <summary>Trees to training paths (MM-PRM's traverse.py, per-step labels), and the TRL export.</summary>
public sealed class TrainingPathsTests
{
    // root (MC 0.5)
    //  ├ A  [s0 s1 s2]  MC 0      the first probe of a search: its error lies somewhere in s0..s2
    //  ├ B  [s0]        MC 0.5    the next probe, under the root
    //  │  └ C [s1]      MC 0.25   then under B: s2 is the first error (A measured s0..s2 at 0)
    //  │     └ D [s2' 7]  correct rollout of C
    //  ├ F  [t0 t1 7]   correct rollout of the root
    //  ├ G  [s0 s1 s2]  MC 0      the same text as A (deduplicated)
    //  ├ H  [x]         MC 0      too short
    //  └ I  [u0 u1]     MC 0      u0 never measured and inside a zero node: cannot be labelled
    private static SearchTree Tree(double rootMc = 0.5)
    {
        int id = 0;
        var root = new SearchNode(id++, null, [], false, NodeKind.Root, 0) { Mc = rootMc };
        SearchNode Add(SearchNode parent, string[] steps, double mc, NodeKind kind = NodeKind.Estimated, bool answer = false) =>
            new(id++, parent, steps, answer, kind, 1) { Mc = mc };
        Add(root, ["s0", "s1", "s2"], 0);
        var b = Add(root, ["s0"], 0.5);
        var c = Add(b, ["s1"], 0.25);
        Add(c, ["s2'", "7"], 1, NodeKind.CorrectRollout, answer: true);
        Add(root, ["t0", "t1", "7"], 1, NodeKind.CorrectRollout, answer: true);
        Add(root, ["s0", "s1", "s2"], 0);
        Add(root, ["x"], 0);
        Add(root, ["u0", "u1"], 0);
        return new SearchTree("p0", 0, root);
    }

    private static readonly OmegaPrmConfig Config = new() { MinPathChars = 4, Seed = 1 };

    [Fact]
    public void PathsEndAtTheFirstZeroWithPerStepLabelsAndAreBalanced()
    {
        var examples = TrainingPaths.FromTree(Tree(), Config);
        Assert.Equal(2, examples.Count);
        var negative = examples[0];
        Assert.Equal(["s0", "s1", "s2"], negative.Steps);
        Assert.Null(negative.Answer);
        Assert.Equal([0.5, 0.25, 0.0], negative.Labels); // s0 and s1 measured by B and C, s2 by A itself
        var positive = examples[1];
        Assert.Equal("7", positive.Answer);
        Assert.True(positive.Steps.SequenceEqual(["s0", "s1", "s2'"]) || positive.Steps.SequenceEqual(["t0", "t1"]));
        Assert.Equal(positive.Steps[0] == "s0" ? [0.5, 0.25, 1.0, 1.0] : [1.0, 1.0, 1.0], positive.Labels);
        Assert.All(examples, e => e.Validate());
        Assert.Equal([1.0, 1.0, 0.0], negative.HardLabels);
    }

    [Fact]
    public void TheBalancedSubsetIsSeeded()
    {
        string Pick(long seed) => TrainingPaths.FromTree(Tree(), Config with { Seed = seed })[1].Steps[0];
        Assert.Equal(Pick(1), Pick(1));
        var picks = Enumerable.Range(0, 16).Select(s => Pick(s)).Distinct().ToList();
        Assert.Equal(2, picks.Count); // both positives get chosen for some seed
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.0)]
    public void QuestionsTheRootScreenRejectsGiveNothing(double rootMc) =>
        Assert.Empty(TrainingPaths.FromTree(Tree(rootMc), Config));

    [Fact]
    public void TrlRecordsCarryPromptCompletionsAndBooleanLabels()
    {
        var problem = ScriptedPolicy.MakeProblem("p0");
        var e = new StepExample("p0", ["a = 3", "b = 4"], "7", [0.5, 0.25, 1]);
        var o = TrlExport.Record(e, problem);
        Assert.Equal(problem.Question, o["prompt"]!.GetValue<string>());
        Assert.Equal(["a = 3", "b = 4", "<answer>7</answer>"], ((JsonArray)o["completions"]!).Select(n => n!.GetValue<string>()));
        Assert.Equal([true, true, true], ((JsonArray)o["labels"]!).Select(n => n!.GetValue<bool>()));
        var wrong = TrlExport.Record(new StepExample("p0", ["a = 3", "b = 5"], null, [0.5, 0]), problem);
        Assert.Equal([true, false], ((JsonArray)wrong["labels"]!).Select(n => n!.GetValue<bool>()));
        Assert.Equal(2, ((JsonArray)wrong["completions"]!).Count);
    }
}
