using System.Text.Json.Nodes;
using MMEureka.Reproduce;

namespace MMEureka.Tests;

/// <summary>The results table's verdicts: fixed rules on the numbers in the run folders, and "not run" when they are missing.</summary>
public sealed class ResultsTests : IDisposable
{
    private readonly string _runs = Path.Combine(Path.GetTempPath(), "mmeureka-results-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_runs)) Directory.Delete(_runs, true);
    }

    private void Write(string folder, string file, string text)
    {
        Directory.CreateDirectory(Path.Combine(_runs, folder));
        File.WriteAllText(Path.Combine(_runs, folder, file), text);
    }

    private void Eval(string folder, double accuracy) => Write(folder, "eval-test.json", new JsonObject { ["accuracy"] = accuracy }.ToJsonString());

    private void Steps(string folder, params (double accuracy, double length)[] steps) =>
        Write(folder, "metrics.jsonl", string.Concat(steps.Select((s, i) => new JsonObject { ["step"] = i + 1, ["accuracy"] = s.accuracy, ["completion_length"] = s.length }.ToJsonString() + "\n")));

    private ResultRow Row(string claimStart) => Results.Collect(_runs, "quick").Single(r => r.Claim.StartsWith(claimStart, StringComparison.Ordinal));

    [Theory]
    [InlineData(0.330, Verdict.Yes)]     // +3.0 points
    [InlineData(0.315, Verdict.Partly)]  // +1.5
    [InlineData(0.300, Verdict.No)]      // 0
    [InlineData(0.250, Verdict.No)]
    public void RlOverSftNeedsTwoPointsForYes(double rl, Verdict expected)
    {
        Eval("sft-quick", 0.30);
        Eval("rl-grpo-quick", rl);
        var row = Row("Rule-based RL beats SFT");
        Assert.Equal(expected, row.Verdict);
        Assert.Contains($"{100 * rl:F1}% (GRPO)", row.Ours);
    }

    [Fact]
    public void MissingRunsAreNotRunAndNameTheFolder()
    {
        Eval("sft-quick", 0.30);
        var rows = Results.Collect(_runs, "quick");
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.Equal(Verdict.NotRun, r.Verdict));
        Assert.Contains("rl-grpo-quick", Row("Rule-based RL beats SFT").Why);
        Assert.Contains("sweep-stress", Row("GRPO, RLOO and REINFORCE++ collapse").Why);
    }

    [Fact]
    public void AccuracyAndLengthCompareTheFirstAndLastFifth()
    {
        // 10 steps: the first two and the last two are averaged.
        var rising = Enumerable.Range(0, 10).Select(i => (0.2 + 0.02 * i, 50.0 + i)).ToArray();
        Steps("rl-mm_eureka-quick", rising);
        var row = Row("Accuracy reward and response length");
        Assert.Equal(Verdict.Yes, row.Verdict);
        Assert.Contains("rollout accuracy 21.0% -> 37.0%, length 50.5 -> 58.5", row.Ours);

        Steps("rl-mm_eureka-quick", Enumerable.Range(0, 10).Select(i => (0.2 + 0.02 * i, 60.0 - i)).ToArray());
        Assert.Equal(Verdict.Partly, Row("Accuracy reward and response length").Verdict);
        Steps("rl-mm_eureka-quick", Enumerable.Range(0, 10).Select(i => (0.4 - 0.02 * i, 60.0 - i)).ToArray());
        Assert.Equal(Verdict.No, Row("Accuracy reward and response length").Verdict);
    }

    [Theory]
    [InlineData(0.40, 0.40, Verdict.Yes)]
    [InlineData(0.39, 0.40, Verdict.Partly)]
    [InlineData(0.37, 0.40, Verdict.No)]
    public void CpgdAgainstGrpoAllowsTwoPoints(double cpgd, double grpo, Verdict expected)
    {
        Eval("rl-grpo-quick", grpo);
        Eval("rl-cpgd-quick", cpgd);
        Assert.Equal(expected, Row("CPGD matches or beats GRPO").Verdict);
    }

    [Fact]
    public void BestOfNTakesTheBestAggregatorAtTheLargestN()
    {
        static string Table(double[] min, double[] random, double[] majority) => new JsonObject
        {
            ["n"] = new JsonArray(1, 4, 16), ["problems"] = 500,
            ["accuracy"] = new JsonObject
            {
                ["min"] = new JsonArray(min.Select(v => (JsonNode?)v).ToArray()), ["last"] = new JsonArray(0.3, 0.3, 0.3),
                ["random"] = new JsonArray(random.Select(v => (JsonNode?)v).ToArray()), ["majority"] = new JsonArray(majority.Select(v => (JsonNode?)v).ToArray()),
            },
        }.ToJsonString();
        Write("bon-quick-test", "table.json", Table([0.30, 0.36, 0.40], [0.30, 0.30, 0.30], [0.30, 0.37, 0.39]));
        Write("bon-quick-test", "table-hard.json", Table([0.30, 0.33, 0.35], [0.30, 0.30, 0.30], [0.30, 0.37, 0.39]));
        var random = Row("Best-of-16 with the PRM beats a random pick");
        Assert.Equal(Verdict.Yes, random.Verdict);
        Assert.Contains("min 40.0% vs random 30.0%", random.Ours);
        Assert.Equal(Verdict.Partly, Row("The PRM picks better than majority vote").Verdict); // +1 point
        Assert.Equal(Verdict.Yes, Row("Soft labels (MC values) beat hard labels").Verdict);     // +5 points
    }

    [Theory]
    [InlineData(15.0, 22.5, Verdict.Yes)]     // a third fewer rollouts per wrong solution
    [InlineData(20.0, 22.5, Verdict.Partly)]
    [InlineData(23.0, 22.5, Verdict.No)]
    public void AnnotationCostIsJudgedPerWrongSolution(double binary, double stepwise, Verdict expected)
    {
        Write("annotate-quick", "summary.json", """{"problems":3700,"kept":2511,"labels":31153}""");
        // Per label the binary search costs more here (it labels only the steps it probes): the verdict must not use it.
        Write("annotate-quick", "stepwise.json", new JsonObject
        {
            ["solutions"] = 100, ["binary_rollouts_per_label"] = 8.1, ["stepwise_rollouts_per_label"] = 5.9,
            ["binary_rollouts_per_solution"] = binary, ["stepwise_rollouts_per_solution"] = stepwise, ["first_error_agreement"] = 0.85,
        }.ToJsonString());
        var row = Row("Binary search locates the first error");
        Assert.Equal(expected, row.Verdict);
        Assert.Contains("31,153 step labels from 2,511 of 3,700 problems", row.Ours);
        Assert.Contains("per label 8.10 vs 5.90", row.Ours);
    }

    [Fact]
    public void ResultsJsonRoundTrips()
    {
        Eval("sft-quick", 0.30);
        Eval("rl-grpo-quick", 0.35);
        var rows = Results.Collect(_runs, "quick");
        var back = Results.FromJson(JsonNode.Parse(Results.ToJson(rows, "quick").ToJsonString())!.AsObject());
        Assert.Equal(rows, back);
    }
}
