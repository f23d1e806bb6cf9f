using System.Text.Json.Nodes;
using MMEureka.Rl;

namespace MMEureka.Tests.Rl;

/// <summary>The sweep's table from hand-made run folders (no training).</summary>
public sealed class SweepSummaryTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "mmeureka-sweepsum-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, true);
    }

    // A run folder as the trainer leaves it: eval lines (step, eval_accuracy, eval_ood_accuracy) and step lines
    // (ratio_max, completion_length); evals at steps 0, 5, 10, ... and one step line per step.
    private string Folder(string algo, long seed, double[] test, double[]? ood, double[] ratio, double[] length, string? status = "finished")
    {
        string dir = Path.Combine(_root, $"{algo}-s{seed}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), new JsonObject { ["algo"] = algo, ["seed"] = seed, ["steps"] = ratio.Length }.ToJsonString());
        var lines = new List<string>();
        int every = ratio.Length / (test.Length - 1);
        for (int s = 0; s <= ratio.Length; s++)
        {
            if (s > 0)
                lines.Add(new JsonObject { ["step"] = s, ["reward"] = 0.5, ["ratio_max"] = ratio[s - 1], ["completion_length"] = length[s - 1] }.ToJsonString());
            if (s % every == 0)
            {
                var e = new JsonObject { ["step"] = s, ["eval_accuracy"] = test[s / every], ["eval_problems"] = 100 };
                if (ood != null) e["eval_ood_accuracy"] = ood[s / every];
                lines.Add(e.ToJsonString());
            }
        }
        File.WriteAllText(Path.Combine(dir, "metrics.jsonl"), string.Join("\n", lines) + "\n");
        if (status != null) File.WriteAllText(Path.Combine(dir, Sweep.StatusFile), new JsonObject { ["status"] = status }.ToJsonString());
        return dir;
    }

    private static readonly double[] Ratios = [1.1, 1.3, 4.5, 1.2];
    private static readonly double[] Steady = [60, 58, 55, 50];

    [Fact]
    public void StableRunReportsBestFinalRatioLengthAndTheTableOneOverall()
    {
        var r = SweepSummary.ReadRun(Folder("cpgd", 1, [0.20, 0.26, 0.25], [0.10, 0.12, 0.15], Ratios, Steady))!;
        Assert.Equal("cpgd", r.Algo);
        Assert.Equal(1, r.Seed);
        Assert.Equal("finished", r.Status);
        Assert.Equal(4, r.Steps);
        Assert.Equal(0.20, r.SftAccuracy);
        Assert.Equal(0.26, r.BestAccuracy);
        Assert.Equal(2, r.BestStep);
        Assert.Equal(0.25, r.FinalAccuracy);
        Assert.Equal(0.15, r.FinalOodAccuracy);
        Assert.Equal(4.5, r.RatioMax);
        Assert.Equal(60, r.StartLength);
        Assert.Equal(50, r.FinalLength);
        Assert.False(r.Collapsed);
        Assert.Null(r.CollapseReason);
        // (0.25 / 0.20 + 0.15 / 0.10) / 2 = (1.25 + 1.5) / 2
        Assert.Equal(1.375, r.Overall!.Value, 12);
    }

    [Fact]
    public void TenPointsBelowTheBestIsACollapseAndNinePointsIsNot()
    {
        var ten = SweepSummary.ReadRun(Folder("grpo", 1, [0.20, 0.30, 0.20], null, Ratios, Steady))!;
        Assert.True(ten.Collapsed);
        Assert.Equal("accuracy 20.0% is 10.0 points below its best 30.0% (step 2)", ten.CollapseReason);
        // Without OOD the overall is the test ratio alone: 0.20 / 0.20.
        Assert.Equal(1.0, ten.Overall!.Value, 12);
        Assert.Null(ten.FinalOodAccuracy);
        var nine = SweepSummary.ReadRun(Folder("grpo", 2, [0.20, 0.30, 0.21], null, Ratios, Steady))!;
        Assert.False(nine.Collapsed);
        // The best may be the SFT start itself: RL that only loses accuracy collapses too.
        var down = SweepSummary.ReadRun(Folder("grpo", 3, [0.25, 0.20, 0.14], null, Ratios, Steady))!;
        Assert.True(down.Collapsed);
        Assert.Equal(0, down.BestStep);
    }

    [Fact]
    public void LengthBelowAThirdOfTheStartIsACollapseEvenWhenAccuracyHolds()
    {
        var shortRun = SweepSummary.ReadRun(Folder("pg", 1, [0.20, 0.21, 0.21], null, Ratios, [60, 40, 25, 19.9]))!;
        Assert.True(shortRun.Collapsed);
        Assert.Contains("response length 19.9", shortRun.CollapseReason);
        var third = SweepSummary.ReadRun(Folder("pg", 2, [0.20, 0.21, 0.21], null, Ratios, [60, 40, 25, 20]))!;
        Assert.False(third.Collapsed);
    }

    [Fact]
    public void StoppedRunCollapsedAndRunWithoutEvaluationIsLeftOut()
    {
        var stopped = SweepSummary.ReadRun(Folder("no_clip", 1, [0.20, 0.22, 0.22], null, Ratios, Steady, status: "stopped"))!;
        Assert.True(stopped.Collapsed);
        Assert.Contains("non-finite", stopped.CollapseReason);
        string empty = Path.Combine(_root, "empty");
        Directory.CreateDirectory(empty);
        File.WriteAllText(Path.Combine(empty, "config.json"), """{"algo":"grpo","seed":9}""");
        File.WriteAllText(Path.Combine(empty, "metrics.jsonl"), "");
        Assert.Null(SweepSummary.ReadRun(empty));
        Assert.Null(SweepSummary.ReadRun(Path.Combine(_root, "missing")));
        // Running: no sweep.json yet.
        Assert.Equal("running", SweepSummary.ReadRun(Folder("rloo", 1, [0.2, 0.2, 0.2], null, Ratios, Steady, status: null))!.Status);
    }

    [Fact]
    public void WritesPerRunAndPerAlgorithmTablesAsJsonAndCsv()
    {
        var dirs = new[]
        {
            Folder("grpo", 1, [0.20, 0.30, 0.15], [0.10, 0.10, 0.05], Ratios, Steady),
            Folder("grpo", 2, [0.20, 0.24, 0.24], [0.10, 0.12, 0.12], [1.1, 9.0, 1.0, 1.0], Steady),
            Folder("cpgd", 1, [0.20, 0.22, 0.22], [0.10, 0.11, 0.11], Ratios, Steady),
        };
        var summary = SweepSummary.Read(dirs.Append(Path.Combine(_root, "not-there")));
        Assert.Equal(3, summary.Runs.Count);
        var grpo = summary.ByAlgo().Single(a => a.algo == "grpo");
        Assert.Equal(2, grpo.runs);
        Assert.Equal(1, grpo.collapsed);
        Assert.Equal((0.15 + 0.24) / 2, grpo.finalAccuracy, 12);
        Assert.Equal(9.0, grpo.ratioMax);
        // overall per run: (0.75 + 0.5) / 2 = 0.625 and (1.2 + 1.2) / 2 = 1.2; mean 0.9125.
        Assert.Equal(0.9125, grpo.overall!.Value, 12);

        summary.Write(_root);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(_root, "summary.json")))!;
        Assert.Equal(3, json["runs"]!.AsArray().Count);
        Assert.True(json["runs"]![0]!["collapsed"]!.GetValue<bool>());
        Assert.Equal(0.9125, json["algos"]![0]!["overall"]!.GetValue<double>(), 12);
        var csv = File.ReadAllLines(Path.Combine(_root, "summary.csv"));
        Assert.Equal(1 + 3 + 2, csv.Length);
        Assert.Equal("grpo,1,finished,4,0.2,0.3,2,0.15,0.05,4.5,60,50,true,0.625", csv[1]);
        Assert.StartsWith("grpo,mean,1/2 collapsed,", csv[4]);
    }
}
