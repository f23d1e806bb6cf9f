using System.Text.Json.Nodes;
using MMEureka.Cli;

namespace MMEureka.Cli.Tests;

/// <summary>The prm and bon verbs: argument errors, and a tiny run end to end (gold labels -> PRM -> scores -> Best-of-N).</summary>
public sealed class PrmCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-prm-" + Guid.NewGuid().ToString("N"));

    public PrmCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    [Theory]
    [InlineData("prm", "train")]
    [InlineData("prm", "train", "--data", "x", "--labels", "fuzzy")]
    [InlineData("prm", "score", "--prm", "x", "--problem", "test-000001")]
    [InlineData("bon", "--prm", "x")]
    [InlineData("bon", "--policy", "x", "--prm", "y", "--n")]
    [InlineData("bon", "--policy", "x", "--prm", "y", "--split", "train")]
    public void ParseErrorsAreReported(params string[] args) => Assert.NotEmpty(Program.BuildRoot().Parse(args).Errors);

    [Fact]
    public void BadValuesExitWithOneAndAClearMessage()
    {
        var (code, _, err) = Run("prm", "train", "--data", Path.Combine(_dir, "none"), "--out", Path.Combine(_dir, "run"));
        Assert.Equal(1, code);
        Assert.Contains("none does not exist", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));

        (code, _, err) = Run("prm", "train", "--data", _dir, "--lr", "-1", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(1, code);
        Assert.Contains("lr", err);

        (code, _, err) = Run("bon", "--policy", "p", "--prm", "q", "--n", "1,0");
        Assert.Equal(1, code);
        Assert.Contains("--n", err);

    }

    [Fact]
    public void TinyPipelineTrainsScoresAndRanksCandidates()
    {
        var data = Path.Combine(_dir, "data");
        Assert.Equal(0, Run("data", "generate", "--out", data, "--seed", "2", "--train", "12", "--test", "3", "--ood", "2").code);
        var policy = Path.Combine(_dir, "policy");
        Assert.Equal(0, Run("model", "init", "--preset", "tiny", "--out", policy, "--seed", "4").code);
        var labels = Path.Combine(_dir, "labels");
        var (code, output, err) = Run("prm", "gold-labels", "--data", data, "--out", labels);
        Assert.True(code == 0, err);
        Assert.Contains("36 paths", output);

        var run = Path.Combine(_dir, "prm");
        (code, output, err) = Run("prm", "train", "--data", labels, "--init", policy, "--preset", "tiny", "--steps", "2", "--problems-dir", data, "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("held-out step BCE", output);
        Assert.True(File.Exists(Path.Combine(run, "checkpoint", "model.safetensors")));
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length); // 2 steps + the final evaluation
        (code, _, err) = Run("prm", "train", "--data", labels, "--init", policy, "--preset", "tiny", "--steps", "2", "--problems-dir", data, "--out", run);
        Assert.Equal(1, code);
        Assert.Contains("already holds a run", err);

        (code, output, err) = Run("prm", "score", "--prm", Path.Combine(run, "checkpoint"), "--data", data, "--problem", "test-000000",
            "--response", "<think>a: 1\\nb: 2</think><answer>3</answer>", "--json");
        Assert.True(code == 0, err);
        var scored = JsonNode.Parse(output)!;
        Assert.Equal(3, scored["scores"]!.AsArray().Count);
        Assert.All(scored["scores"]!.AsArray(), s => Assert.InRange(s!.GetValue<double>(), 0, 1));
        Assert.All(scored["tags"]!.AsArray(), t => Assert.Equal(7, scored["tokens"]![t!.GetValue<int>()]!.GetValue<int>()));

        var orm = Path.Combine(_dir, "orm");
        (code, _, err) = Run("prm", "train", "--data", labels, "--init", policy, "--preset", "tiny", "--steps", "1", "--orm", "--problems-dir", data, "--out", orm);
        Assert.True(code == 0, err);
        var bonOut = Path.Combine(_dir, "bon");
        (code, output, err) = Run("bon", "--policy", policy, "--prm", Path.Combine(run, "checkpoint"), "--orm", Path.Combine(orm, "checkpoint"),
            "--data", data, "--n", "1,2", "--problems", "2", "--out", bonOut, "--json");
        Assert.True(code == 0, err);
        var table = JsonNode.Parse(output)!;
        Assert.Equal(2, table["problems"]!.GetValue<int>());
        var rows = table["accuracy"]!.AsObject();
        foreach (var name in new[] { "min", "last", "product", "average", "max", "sum_log_p", "sum_log_odds", "mean_odds", "orm", "random", "majority", "pass@n" })
            Assert.Equal(2, rows[name]!.AsArray().Count);
        Assert.Equal(4, File.ReadAllLines(Path.Combine(bonOut, "candidates.jsonl")).Length);
    }
}
