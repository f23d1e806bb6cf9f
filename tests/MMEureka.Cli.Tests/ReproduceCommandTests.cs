using System.Text.Json.Nodes;

namespace MMEureka.Cli.Tests;

/// <summary>
/// <c>mmeureka reproduce --preset tiny</c> end to end: every stage runs, the report and results are written, and a
/// run stopped after a stage and called again ends with the same results as one that ran straight through.
/// </summary>
public sealed class ReproduceCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-reproduce-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private (int code, string stdout, string stderr) Reproduce(string name, params string[] more) =>
        CliHarness.Run(["reproduce", "--preset", "tiny", "--runs", Path.Combine(_dir, name), "--data", Path.Combine(_dir, "data"), .. more]);

    private JsonObject ResultsOf(string name) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(_dir, name, "reproduce-tiny", "results.json")))!.AsObject();

    [Fact]
    public void StoppedAndContinuedGivesTheSameResultsAsOneRun()
    {
        var (code, _, err) = Reproduce("straight");
        Assert.True(code == 0, err);
        var straight = ResultsOf("straight");
        var rows = straight["rows"]!.AsArray();
        Assert.Equal(12, rows.Count);
        Assert.All(rows, r => Assert.NotEqual("not run", (string)r!["reproduced"]!));
        var stages = straight["stages"]!.AsObject();
        Assert.Equal(19, stages.Count);
        Assert.All(stages, s => Assert.Equal("ran", (string)s.Value!["status"]!));
        string report = File.ReadAllText(Path.Combine(_dir, "straight", "reproduce-tiny", "report.html"));
        foreach (var claim in rows.Select(r => (string)r!["claim"]!)) Assert.Contains(System.Net.WebUtility.HtmlEncode(claim), report);
        Assert.Contains("class=\"mmeureka-plot\"", report);

        // Stopped after the second RL run, then called again: the first stages are reused, the rest run.
        (code, var stdout, err) = Reproduce("stopped", "--until", "rl-cpgd");
        Assert.True(code == 0, err);
        Assert.Contains("stopped after stage rl-cpgd", stdout);
        Assert.False(File.Exists(Path.Combine(_dir, "stopped", "reproduce-tiny", "results.json")));
        Assert.False(Directory.Exists(Path.Combine(_dir, "stopped", "rl-mm_eureka-tiny")));
        (code, stdout, err) = Reproduce("stopped");
        Assert.True(code == 0, err);
        Assert.Contains("[3/19] rl-grpo (MM-Eureka): finished", stdout);
        var continued = ResultsOf("stopped");
        Assert.Equal(rows.Select(r => (string)r!["ours"]!), continued["rows"]!.AsArray().Select(r => (string)r!["ours"]!));

        // A third call finds everything finished and only rewrites the results.
        (code, stdout, err) = Reproduce("stopped");
        Assert.True(code == 0, err);
        Assert.Equal(19, stdout.Split('\n').Count(l => l.Contains(": finished in ")));
    }

    [Fact]
    public void UnknownStageIsOneLineAndWritesNothing()
    {
        var (code, _, err) = Reproduce("bad", "--until", "rl");
        Assert.Equal(1, code);
        Assert.Contains("--until: no stage 'rl'", err);
        Assert.Single(err.Trim().Split('\n'));
        Assert.False(Directory.Exists(Path.Combine(_dir, "bad")));
    }
}
