using System.Text.Json.Nodes;
using MMEureka.Cli;
using MMEureka.Cli.Commands;

namespace MMEureka.Cli.Tests;

/// <summary><c>mmeureka rl</c> argument errors and <c>rl loss</c> on hand-worked cases.</summary>
public sealed class RlCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-rl-" + Guid.NewGuid().ToString("N"));

    public RlCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    private string Case(string json)
    {
        var path = Path.Combine(_dir, Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, json);
        return path;
    }

    [Theory]
    [InlineData("rl", "--algo", "ppo")]
    [InlineData("rl", "--preset", "huge")]
    [InlineData("rl", "--kl-estimator", "k4")]
    [InlineData("rl", "loss")]
    public void ParseErrorsAreReported(params string[] args) => Assert.NotEmpty(Program.BuildRoot().Parse(args).Errors);

    [Fact]
    public void MissingOrWrongInitIsOneClearLine()
    {
        var (code, _, err) = Run("rl", "--preset", "tiny");
        Assert.Equal(1, code);
        Assert.Contains("--init is required", err);
        (code, _, err) = Run("rl", "--preset", "tiny", "--init", _dir);
        Assert.Equal(1, code);
        Assert.Contains("is not a checkpoint folder", err);
        Assert.Single(err.Trim().Split('\n'));
        (code, _, err) = Run("rl", "--preset", "tiny", "--group-size", "1", "--init", _dir);
        Assert.Equal(1, code);
        Assert.Contains("group_size", err);
    }

    [Fact]
    public void ProfileSplitsTheStepTimeFromTheMetrics()
    {
        Directory.CreateDirectory(_dir);
        string metrics = Path.Combine(_dir, "metrics.jsonl");
        // Two steps: sampling 2 s, log-probs 2 s, update 3 s, other training 1 s in all; one 4 s evaluation.
        File.WriteAllLines(metrics, [
            """{"step":0,"eval_accuracy":0.5,"time_eval":4}""",
            """{"step":1,"reward":1,"time_sampling":0.5,"time_training":3,"time_logprobs":1,"time_update":1.5}""",
            """{"step":2,"reward":1,"time_sampling":1.5,"time_training":3,"time_logprobs":1,"time_update":1.5}""",
        ]);
        string text = RlCommand.Profile(metrics);
        Assert.Contains("profile of 2 RL steps", text);
        Assert.Matches(@"sampling rollouts\s+1\.000 s\s+25\.0 %", text);
        Assert.Matches(@"log-prob recomputation \(forward\)\s+1\.000 s\s+25\.0 %", text);
        Assert.Matches(@"update \(loss, backward, AdamW\)\s+1\.500 s\s+37\.5 %", text);
        Assert.Matches(@"other training work\s+0\.500 s\s+12\.5 %", text);
        Assert.Matches(@"greedy evaluations \(total\)\s+4\.0 s", text);
    }

    [Fact]
    public void LossOfAGrpoCaseMatchesHandWorkedNumbers()
    {
        // One group of two one-token responses, rewards 1 and 0: group_norm A = +-0.5 / (std 0.7071068 + 1e-9) = +-0.7071068.
        // Response 0: ratio 1.5 with A > 0 is clipped at 1.2 -> loss -1.2 A, no gradient.
        // Response 1: ratio 1.0 -> loss -r A = +0.7071068 at r = 1, gradient -A r = 0.7071068.
        // seq_mean over two responses: (-1.2 * 0.7071068 + 0.7071068) / 2 = -0.0707107.
        var path = Case("""
        {"objective": "ppo_clip", "estimator": "group_norm", "aggregation": "seq_mean",
         "groups": [[{"reward": 1, "logp_old": [-1.4054651], "logp_new": [-1.0]}, {"reward": 0, "logp_old": [-2.0], "logp_new": [-2.0]}]]}
        """);
        var outPath = Path.Combine(_dir, "out.json");
        var (code, _, err) = Run("rl", "loss", "--input", path, "--out", outPath);
        Assert.True(code == 0, err);
        var o = JsonNode.Parse(File.ReadAllText(outPath))!;
        Assert.Equal(0.7071068, o["advantages"]![0]![0]!.GetValue<double>(), 5);
        Assert.Equal(-0.7071068, o["advantages"]![0]![1]!.GetValue<double>(), 5);
        Assert.Equal(-0.0707107, o["loss"]!.GetValue<double>(), 5);
        Assert.Equal(0, o["grad_logp_new"]![0]![0]![0]!.GetValue<double>(), 6);
        Assert.Equal(0.3535534, o["grad_logp_new"]![0]![1]![0]!.GetValue<double>(), 5); // 0.7071068 / 2 responses
    }

    [Fact]
    public void CpgdDefaultsUseGroupTokenMeanAndTheDrift()
    {
        // Defaults: cpgd, cpgd_std, group_token_mean. Two responses (1 and 2 tokens), rewards 1 and 0, all ratios 1:
        // A = +-0.7071068; Eq. 2 weighs each of the 3 tokens 1/3. Loss (log-ratios 0, drift weight 0): 0.
        // d/dlogp = -A/3 + alpha * min(r - 1, c) / 3 = -A / 3.
        var (code, stdout, err) = Run("rl", "loss", "--input", Case("""
        {"groups": [[{"reward": 1, "logp_old": [-1], "logp_new": [-1]}, {"reward": 0, "logp_old": [-1, -2], "logp_new": [-1, -2]}]]}
        """));
        Assert.True(code == 0, err);
        var o = JsonNode.Parse(stdout)!;
        Assert.Equal(0, o["loss"]!.GetValue<double>(), 6);
        Assert.Equal(-0.2357023, o["grad_logp_new"]![0]![0]![0]!.GetValue<double>(), 5);
        Assert.Equal(0.2357023, o["grad_logp_new"]![0]![1]![1]!.GetValue<double>(), 5);
    }

    [Theory]
    [InlineData("""{"objective": "ppo", "groups": [[{"reward": 1, "logp_old": [0], "logp_new": [0]}]]}""", "field objective")]
    [InlineData("""{"groups": []}""", "field groups is empty")]
    [InlineData("""{"groups": [[{"reward": "high", "logp_old": [0], "logp_new": [0]}]]}""", "groups[0][0].reward")]
    [InlineData("""{"groups": [[{"reward": 1, "logp_old": [0, 1], "logp_new": [0]}]]}""", "groups[0][0]: logp_old has 2 tokens")]
    [InlineData("""{"eps": 2, "groups": [[{"reward": 1, "logp_old": [0], "logp_new": [0]}]]}""", "eps")]
    [InlineData("""{"max_len": 1, "groups": [[{"reward": 1, "logp_old": [0, 0], "logp_new": [0, 0]}]]}""", "max_len")]
    [InlineData("""not json""", "")]
    public void AMalformedCaseNamesTheFieldAndWritesNothing(string json, string expected)
    {
        var outPath = Path.Combine(_dir, "result.json");
        var (code, _, err) = Run("rl", "loss", "--input", Case(json), "--out", outPath);
        Assert.Equal(1, code);
        Assert.Contains(expected, err);
        Assert.StartsWith("error: ", err);
        Assert.False(File.Exists(outPath));
    }
}
