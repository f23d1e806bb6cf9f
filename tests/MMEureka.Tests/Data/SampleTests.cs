using MMEureka.Data;

namespace MMEureka.Tests.Data;

/// <summary>The committed sample in data/sample: it loads, and it is exactly what the generator makes for its config.</summary>
public class SampleTests
{
    public static readonly MiniK12Config SampleConfig = new(Seed: 1, Train: 48, Test: 8, Ood: 8);

    public static string SampleDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "MMEureka.Notebooks.sln"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("repository root not found"), "data", "sample");
    }

    [Fact]
    public void SampleLoadsWithEveryFamily()
    {
        var all = Enum.GetValues<Split>().SelectMany(s => MiniK12.Load(SampleDir(), s)).ToList();
        Assert.Equal(64, all.Count);
        Assert.Equal(10, all.Select(p => p.Family).Distinct().Count());
        Assert.All(all, p => Assert.NotNull(p.Image));
    }

    [Fact]
    public void SampleMatchesTheGenerator()
    {
        // If this fails the generator changed: bump MiniK12Generator.Version and regenerate data/sample (see data/README.md).
        string dir = Path.Combine(Path.GetTempPath(), "minik12-sample-" + Guid.NewGuid().ToString("N"));
        try
        {
            MiniK12Generator.Write(dir, SampleConfig);
            foreach (var file in new[] { "train.jsonl", "test.jsonl", "ood.jsonl", "dataset.json", "images/test-000003.png" })
                Assert.True(File.ReadAllBytes(Path.Combine(dir, file)).SequenceEqual(File.ReadAllBytes(Path.Combine(SampleDir(), file))), file);
        }
        finally { if (Directory.Exists(dir)) Directory.Delete(dir, true); }
    }
}
