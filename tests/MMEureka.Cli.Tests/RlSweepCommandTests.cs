using MMEureka.Cli;

namespace MMEureka.Cli.Tests;

/// <summary>Argument errors of <c>mmeureka rl sweep</c> and <c>rl --set</c>: one line naming the option or key, exit 1, nothing written.</summary>
public sealed class RlSweepCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-sweep-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    [Theory]
    [InlineData("--set", "lr=1e-4", "--set lr: unknown key")]
    [InlineData("--set", "epochs=two", "--set epochs: 'two' is not a number")]
    [InlineData("--set", "estimator=std", "--set estimator: unknown value (expected group_norm")]
    [InlineData("--set", "loss.eps=2", "loss eps must be in (0, 1)")]
    [InlineData("--set", "epochs", "--set 'epochs': expected key=value")]
    [InlineData("--algos", "grpo,ppo", "--algos: unknown algorithm 'ppo'")]
    [InlineData("--seeds", "1,x", "--seeds: 'x' is not a whole number")]
    [InlineData("--algos", "grpo,grpo", "names an algorithm twice")]
    public void SweepErrorsNameTheOptionOrKey(string option, string value, string message)
    {
        string outDir = Path.Combine(_dir, "sweep");
        var (code, _, err) = Run("rl", "sweep", "--preset", "tiny", "--out", outDir, "--init", Path.Combine(_dir, "none"), option, value);
        Assert.Equal(1, code);
        Assert.Contains(message, err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(outDir));
    }

    [Fact]
    public void MissingInitIsReportedAfterTheSettingsAreChecked()
    {
        var (code, _, err) = Run("rl", "sweep", "--preset", "tiny", "--out", Path.Combine(_dir, "s"), "--set", "epochs=2");
        Assert.Equal(1, code);
        Assert.Contains("--init is required", err);
        (code, _, err) = Run("rl", "sweep", "--preset", "tiny", "--out", Path.Combine(_dir, "s"), "--init", Path.Combine(_dir, "none"));
        Assert.Equal(1, code);
        Assert.Contains("is not a checkpoint folder", err);
    }

    [Fact]
    public void RlAcceptsSetAndTheStressPreset()
    {
        var (code, _, err) = Run("rl", "--preset", "stress", "--set", "drift_alpha=-1", "--init", Path.Combine(_dir, "none"), "--out", Path.Combine(_dir, "r"));
        Assert.Equal(1, code);
        Assert.Contains("drift_alpha must be >= 0", err);
        Assert.Empty(Program.BuildRoot().Parse(["rl", "sweep", "--preset", "stress", "--set", "epochs=2", "--set", "eps=0.1"]).Errors);
        Assert.NotEmpty(Program.BuildRoot().Parse(["rl", "sweep", "--preset", "huge"]).Errors);
    }
}
