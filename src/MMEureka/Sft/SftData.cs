using MMEureka.Data;

namespace MMEureka.Sft;

/// <summary>The MiniK12 splits a run trains and evaluates on.</summary>
public sealed record SftData(IReadOnlyList<Problem> Train, IReadOnlyList<Problem> Test, IReadOnlyList<Problem> Ood)
{
    /// <summary>Default data folder of a preset (git-ignored): data/generated/minik12, or minik12-tiny for tiny.</summary>
    public static string DefaultDir(string preset) => Path.Combine("data", "generated", preset == "tiny" ? "minik12-tiny" : "minik12");

    /// <summary>Loads the splits from <paramref name="dir"/>, generating the dataset of <paramref name="config"/>
    /// there first when the folder has no train.jsonl.</summary>
    public static SftData LoadOrGenerate(string dir, MiniK12Config config, Action<string>? log = null)
    {
        if (!File.Exists(Path.Combine(dir, MiniK12Generator.FileName(Split.Train))))
        {
            if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
                throw new IOException($"{dir} has files but no {MiniK12Generator.FileName(Split.Train)}; point --data at a MiniK12 folder or an empty one");
            log?.Invoke($"no dataset in {dir}: generating {config.Train} train, {config.Test} test, {config.Ood} ood problems");
            var report = MiniK12Generator.Write(dir, config, overwrite: true);
            log?.Invoke($"generated in {report.Seconds:F1} s");
        }
        return new SftData(MiniK12.Load(dir, Split.Train), MiniK12.Load(dir, Split.Test), MiniK12.Load(dir, Split.Ood));
    }
}
