using System.Text.Json.Nodes;
using MMEureka.Cli;

namespace MMEureka.Cli.Tests;

/// <summary>Argument and input errors of the policy verbs (sft, eval, model), and model logits end to end.</summary>
public sealed class PolicyCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-policy-" + Guid.NewGuid().ToString("N"));

    public PolicyCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    [Theory]
    [InlineData("sft", "--preset", "huge")]
    [InlineData("sft", "--steps", "many")]
    [InlineData("eval")]
    [InlineData("eval", "--checkpoint", "x", "--split", "train")]
    [InlineData("model", "logits", "--checkpoint", "x", "--out", "y")]
    public void ParseErrorsAreReported(params string[] args) => Assert.NotEmpty(Program.BuildRoot().Parse(args).Errors);

    [Fact]
    public void BadValuesExitWithOneAndAClearMessage()
    {
        var (code, _, err) = Run("eval", "--checkpoint", Path.Combine(_dir, "nope"));
        Assert.Equal(1, code);
        Assert.Contains("nope", err);

        (code, _, err) = Run("eval", "--checkpoint", Path.Combine(_dir, "nope"), "--samples", "4", "--temperature", "0");
        Assert.Equal(1, code);
        Assert.Contains("temperature", err);

        (code, _, err) = Run("sft", "--preset", "tiny", "--resume", "--force", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(1, code);
        Assert.Contains("--resume", err);

        (code, _, err) = Run("sft", "--preset", "tiny", "--steps", "0", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(1, code);
        Assert.Contains("steps", err);

        (code, _, err) = Run("sft", "--preset", "tiny", "--vision-lr-scale", "2", "--out", Path.Combine(_dir, "run"));
        Assert.Equal(1, code);
        Assert.Contains("vision_lr_scale", err);
        Assert.False(Directory.Exists(Path.Combine(_dir, "run")));
    }

    [Fact]
    public void ModelLogitsWritesEveryPositionAndRejectsBadInputWithoutOutput()
    {
        var ckpt = Path.Combine(_dir, "ckpt");
        Assert.Equal(0, Run("model", "init", "--preset", "tiny", "--out", ckpt, "--seed", "4").code);

        var input = Path.Combine(_dir, "in.json");
        JsonArray Pixels() => new(Enumerable.Range(0, 3 * 48 * 48).Select(i => (JsonNode)((i % 17) / 16.0)).ToArray());
        File.WriteAllText(input, new JsonObject { ["pixels"] = Pixels(), ["tokens"] = new JsonArray(1, 40, 41, 42, 3) }.ToJsonString());
        var output = Path.Combine(_dir, "out.json");
        var (code, _, err) = Run("model", "logits", "--checkpoint", ckpt, "--input", input, "--out", output);
        Assert.True(code == 0, err);
        var logits = (JsonArray)JsonNode.Parse(File.ReadAllText(output))!["logits"]!;
        Assert.Equal(36 + 5, logits.Count);
        Assert.All(logits, row => Assert.Equal(106, ((JsonArray)row!).Count));

        File.WriteAllText(input, new JsonObject { ["pixels"] = Pixels(), ["tokens"] = new JsonArray(1, 400) }.ToJsonString());
        var bad = Path.Combine(_dir, "bad.json");
        (code, _, err) = Run("model", "logits", "--checkpoint", ckpt, "--input", input, "--out", bad);
        Assert.Equal(1, code);
        Assert.Contains("tokens[1]", err);
        Assert.False(File.Exists(bad));

        File.WriteAllText(input, new JsonObject { ["pixels"] = new JsonArray(0.5, 0.5), ["tokens"] = new JsonArray(1) }.ToJsonString());
        (code, _, err) = Run("model", "logits", "--checkpoint", ckpt, "--input", input, "--out", bad);
        Assert.Equal(1, code);
        Assert.Contains("pixels", err);
    }
}
