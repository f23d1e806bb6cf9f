using System.Text.Json.Nodes;
using MMEureka.Cli;

namespace MMEureka.Cli.Tests;

/// <summary><c>mmeureka annotate</c>: bad input gets one clear line and writes nothing; a tiny run writes its
/// folder and resumes per question.</summary>
public sealed class AnnotateCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-annotate-" + Guid.NewGuid().ToString("N"));

    public AnnotateCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    private (string ckpt, string data) TinySetup()
    {
        var ckpt = Path.Combine(_dir, "ckpt");
        var data = Path.Combine(_dir, "data");
        Assert.Equal(0, Run("model", "init", "--preset", "tiny", "--out", ckpt, "--seed", "4").code);
        var (code, _, err) = Run("data", "generate", "--out", data, "--train", "6", "--test", "2", "--ood", "2");
        Assert.True(code == 0, err);
        return (ckpt, data);
    }

    [Fact]
    public void BadInputGetsOneLineAndWritesNothing()
    {
        var (ckpt, data) = TinySetup();
        var run = Path.Combine(_dir, "run");

        var (code, _, err) = Run("annotate", "--policy", data, "--preset", "tiny", "--data", data, "--out", run);
        Assert.Equal(1, code);
        Assert.Contains("not a checkpoint", err);
        Assert.Single(err.Trim().Split('\n'));

        (code, _, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--k", "0", "--out", run);
        Assert.Equal(1, code);
        Assert.Contains("k must be at least 1", err);

        var lines = File.ReadAllLines(Path.Combine(data, "train.jsonl"));
        lines[1] = lines[1].Replace("\"answer_type\":", "\"answer_kind\":");
        File.WriteAllLines(Path.Combine(data, "train.jsonl"), lines);
        (code, _, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--out", run);
        Assert.Equal(1, code);
        Assert.Contains("train.jsonl:2", err);
        Assert.Contains("answer_type", err);
        Assert.False(Directory.Exists(run));
    }

    [Fact]
    public void ATinyRunWritesTreesAndDataAndResumesPerQuestion()
    {
        var (ckpt, data) = TinySetup();
        var run = Path.Combine(_dir, "run");
        var (code, stdout, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--problems", "3", "--out", run);
        Assert.True(code == 0, err);
        Assert.Contains("rollouts per label", stdout);
        var trees = Directory.GetFiles(Path.Combine(run, "trees"), "*.json").Order().ToList();
        Assert.Equal(3, trees.Count);
        foreach (var name in new[] { "config.json", "steps.jsonl", "trl.jsonl", "summary.json", "metrics.jsonl" })
            Assert.True(File.Exists(Path.Combine(run, name)), name);
        var summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        Assert.Equal(3, summary["problems"]!.GetValue<int>());
        Assert.Equal(3 * 4, summary["screen_rollouts"]!.GetValue<int>()); // the tiny preset's k = 4 per root screen
        Assert.Equal(3, File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.Empty(Directory.GetFiles(run, "*.tmp", SearchOption.AllDirectories));

        (code, _, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--problems", "3", "--out", run);
        Assert.Equal(1, code);
        Assert.Contains("--resume", err);

        // Resume: one tree lost (as if interrupted before it was written) is searched again, the others are kept.
        var before = trees.Select(File.ReadAllText).ToList();
        File.Delete(trees[1]);
        (code, _, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--problems", "3", "--out", run, "--resume");
        Assert.True(code == 0, err);
        Assert.Equal(before, trees.Select(File.ReadAllText).ToList());
        summary = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "summary.json")))!;
        var redone = JsonNode.Parse(File.ReadAllText(trees[1]))!;
        Assert.Equal(redone["total_rollouts"]!.GetValue<int>(), summary["rollouts_this_run"]!.GetValue<int>());

        (code, _, err) = Run("annotate", "--policy", ckpt, "--preset", "tiny", "--data", data, "--problems", "3", "--k", "2", "--out", run, "--resume");
        Assert.Equal(1, code);
        Assert.Contains("other settings", err);
    }
}
