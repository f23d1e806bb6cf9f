using MMEureka.Data;
using MMEureka.Models;
using MMEureka.Rl;
using MMEureka.Tests.Models;

namespace MMEureka.Tests.Rl;

/// <summary>The sweep's bookkeeping on the tiny preset: finished runs are skipped, an interrupted one resumes, a
/// changed configuration is refused. The policy is an untrained tiny model (rewards are all 0; only the run
/// folders matter here).</summary>
public sealed class SweepTests : IDisposable
{
    private static readonly Problem[] Train = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Train: 16), Split.Train);
    private static readonly Problem[] Test = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 5, Test: 2), Split.Test);
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mmeureka-sweep-" + Guid.NewGuid().ToString("N"));
    private readonly string _init;

    public SweepTests()
    {
        _init = Path.Combine(_root, "init");
        new MiniVlm(TestModels.Tiny with { MaxTextLen = 160 }, seed: 3).Save(_init);
    }

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    private static readonly string[] Sets = ["steps=2", "eval_problems=2", "max_new_tokens=16", "checkpoint_every=1", "prompts_per_step=2", "mini_batches=1"];

    private Sweep Plan(params string[] extra) =>
        new(["grpo", "cpgd"], [1], "tiny", Sets.Concat(extra), _init, Path.Combine(_root, "sweep"));

    private List<SweepProgress> RunSweep(Sweep sweep)
    {
        var events = new List<SweepProgress>();
        sweep.Run(Train, Test, Test, events.Add);
        return events;
    }

    [Fact]
    public void SecondInvocationSkipsFinishedRunsAndRewritesTheSummary()
    {
        var first = RunSweep(Plan());
        Assert.Equal(["started", "finished", "started", "finished"], first.Where(e => e.Event != "step").Select(e => e.Event));
        Assert.Equal(4, first.Count(e => e.Event == "step"));
        Assert.NotNull(first.Last(e => e.Event == "step").Eta); // after a trained step the ETA is known
        string metrics = Path.Combine(_root, "sweep", "grpo-s1", "metrics.jsonl");
        string before = File.ReadAllText(metrics);
        File.Delete(Path.Combine(_root, "sweep", "summary.json"));

        var second = RunSweep(Plan());
        Assert.Equal(["skipped", "skipped"], second.Select(e => e.Event));
        Assert.Equal(before, File.ReadAllText(metrics));
        var summary = SweepSummary.Read([Path.Combine(_root, "sweep", "grpo-s1"), Path.Combine(_root, "sweep", "cpgd-s1")]);
        Assert.Equal(["grpo", "cpgd"], summary.Runs.Select(r => r.Algo));
        Assert.All(summary.Runs, r => Assert.Equal(2, r.Steps));
        Assert.True(File.Exists(Path.Combine(_root, "sweep", "summary.json")));
        Assert.Equal(1 + 2 + 2, File.ReadAllLines(Path.Combine(_root, "sweep", "summary.csv")).Length);
    }

    [Fact]
    public void InterruptedRunResumesFromItsCheckpointAndEndsLikeAnUninterruptedOne()
    {
        var sweep = Plan();
        var grpo = sweep.Runs[0];
        // Interrupted after one step: a checkpoint, no sweep.json.
        new RlTrainer(grpo.Config, _init, Train, Test, Test, grpo.Dir).Run(stopAfter: 1);
        Assert.False(File.Exists(Path.Combine(grpo.Dir, Sweep.StatusFile)));

        var events = RunSweep(sweep);
        Assert.Equal("resumed", events[0].Event);
        Assert.Equal([2], events.Where(e => e.Event == "step" && e.Run.Algo == "grpo").Select(e => e.Step!.Step));
        var steps = File.ReadAllLines(Path.Combine(grpo.Dir, "metrics.jsonl")).Where(l => l.Contains("\"reward\"")).ToList();
        Assert.Equal(2, steps.Count); // steps 1 and 2, once each
        Assert.Contains("\"status\": \"finished\"", File.ReadAllText(Path.Combine(grpo.Dir, Sweep.StatusFile)));
    }

    [Fact]
    public void RunFolderOfAnotherConfigurationIsRefusedNotOverwritten()
    {
        RunSweep(Plan());
        string metrics = Path.Combine(_root, "sweep", "grpo-s1", "metrics.jsonl");
        string before = File.ReadAllText(metrics);
        var e = Assert.Throws<InvalidDataException>(() => RunSweep(Plan("learning_rate=0.5")));
        Assert.Contains("grpo-s1", e.Message);
        Assert.Contains("another configuration", e.Message);
        Assert.Equal(before, File.ReadAllText(metrics));
    }

    [Fact]
    public void PlanIsSeedMajorAndValidatesEveryConfigBeforeTraining()
    {
        var sweep = new Sweep(["grpo", "cpgd", "pg"], [1, 2], "tiny", [], _init, Path.Combine(_root, "plan"));
        Assert.Equal(["grpo-s1", "cpgd-s1", "pg-s1", "grpo-s2", "cpgd-s2", "pg-s2"], sweep.Runs.Select(r => Path.GetFileName(r.Dir)));
        Assert.Equal(2, sweep.Runs[3].Config.Seed);
        Assert.Equal(PolicyObjective.Cpgd, sweep.Runs[1].Config.Objective);
        Assert.Throws<ArgumentException>(() => new Sweep(["grpo"], [1], "tiny", ["epochs=0"], _init, Path.Combine(_root, "bad")));
        Assert.Throws<ArgumentException>(() => new Sweep(["grpo", "grpo"], [1], "tiny", [], _init, Path.Combine(_root, "bad")));
        Assert.False(Directory.Exists(Path.Combine(_root, "bad")));
    }
}
