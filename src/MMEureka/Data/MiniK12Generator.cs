using System.Diagnostics;
using System.Text.Encodings.Web;
using System.Text.Json;
using MMEureka.Data.Families;
using MMEureka.Display;
using MMEureka.Rewards;

namespace MMEureka.Data;

/// <summary>Sizes and seed of a MiniK12 dataset. Test and OOD are half multiple choice; train has this share.</summary>
public sealed record MiniK12Config(ulong Seed = 1, int Train = 10_000, int Test = 500, int Ood = 500, double TrainMultipleChoice = 0.25)
{
    /// <summary>How many problems a split has.</summary>
    public int Count(Split split) => split switch { Split.Train => Train, Split.Test => Test, _ => Ood };
}

/// <summary>What <see cref="MiniK12Generator.Write"/> did: counts, how many test/OOD draws were redrawn because they
/// equalled a train problem, and the wall time.</summary>
public sealed record GenerationReport(string Directory, int Train, int Test, int Ood, int Redrawn, double Seconds)
{
    /// <summary>Problems (with their PNGs) written per second.</summary>
    public double ProblemsPerSecond => (Train + Test + Ood) / Math.Max(Seconds, 1e-9);
}

/// <summary>
/// Generates MiniK12, the project's stand-in for MM-K12 (the seed data of MM-Eureka and MM-PRM; PAPERS.md sections 1
/// and 3): problem i of a split uses family i mod 10 and its own random stream from (seed, split, i), so output is
/// byte-identical for a seed whatever the thread count. Test and OOD problems that equal a train problem (same
/// question and image bytes) are redrawn.
/// </summary>
public static class MiniK12Generator
{
    /// <summary>Bumped whenever the same seed would give different problems.</summary>
    public const string Version = "1";

    /// <summary>File name of a split's problems ("train.jsonl", "test.jsonl", "ood.jsonl").</summary>
    public static string FileName(Split split) => SplitName(split) + ".jsonl";

    /// <summary>"train", "test" or "ood".</summary>
    public static string SplitName(Split split) => split.ToString().ToLowerInvariant();

    /// <summary>Problem <paramref name="index"/> of a split (a retry draws a fresh problem from a new stream).</summary>
    public static Problem Make(MiniK12Config config, Split split, int index, int attempt = 0)
    {
        var family = Catalog.All[index % Catalog.All.Count];
        var rng = Rng.For(config.Seed, split, index, attempt);
        var draft = family.Generate(rng, split == Split.Ood);
        // Test and OOD alternate open / multiple choice per family, so each family is exactly half MC there.
        bool mc = split == Split.Train ? rng.NextDouble() < config.TrainMultipleChoice : index / Catalog.All.Count % 2 == 0;
        return FromDraft(draft, family, $"{SplitName(split)}-{index:D6}", mc, rng, split == Split.Ood);
    }

    /// <summary>Turns a family's draft into a problem, open or multiple choice (options in the question text).</summary>
    public static Problem FromDraft(Draft draft, FamilyInfo family, string id, bool multipleChoice, Rng rng, bool ood = false)
    {
        string question = draft.Question, answer = draft.AnswerText;
        string[] steps = draft.Steps;
        string[]? choices = null;
        var type = draft.Type;
        if (multipleChoice)
        {
            var values = draft.ChoiceValues(rng, r => family.Generate(r, ood));
            choices = values.Select(v => Draft.Format(v, draft.Type)).ToArray();
            int index = Array.IndexOf(values, draft.Value);
            string letter = ((char)('A' + index)).ToString();
            question += " " + string.Join(" ", choices.Select((c, i) => $"({(char)('A' + i)}) {c}"));
            steps = [.. steps, $"{answer} is ({letter})"];
            answer = letter;
            type = AnswerType.MultipleChoice;
        }
        return new Problem(id, family.Subject, family.Name, family.Level, question, answer, type, choices, steps, $"images/{id}.png")
        {
            Image = draft.Image,
        };
    }

    /// <summary>A 64-bit FNV-1a fingerprint of (question, image bytes): equal problems have equal keys.</summary>
    public static ulong Key(Problem problem)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (char c in problem.Question) h = (h ^ c) * 0x100000001B3UL;
        h = (h ^ 0xFF) * 0x100000001B3UL;
        foreach (byte b in problem.Image?.Pixels ?? []) h = (h ^ b) * 0x100000001B3UL;
        return h;
    }

    /// <summary>Problem <paramref name="index"/>, redrawn until it is not in <paramref name="exclude"/>.</summary>
    public static (Problem Problem, int Attempts) MakeUnique(MiniK12Config config, Split split, int index, IReadOnlySet<ulong>? exclude)
    {
        for (int attempt = 0; attempt < 1000; attempt++)
        {
            var p = Make(config, split, index, attempt);
            if (exclude is null || !exclude.Contains(Key(p))) return (p, attempt);
        }
        throw new InvalidOperationException($"{SplitName(split)} problem {index}: 1000 draws all duplicated train problems");
    }

    /// <summary>A split in memory (images included), in parallel; deterministic.</summary>
    public static Problem[] GenerateSplit(MiniK12Config config, Split split, IReadOnlySet<ulong>? exclude = null)
    {
        var result = new Problem[config.Count(split)];
        Parallel.For(0, result.Length, i => result[i] = MakeUnique(config, split, i, exclude).Problem);
        return result;
    }

    /// <summary>
    /// Writes train.jsonl, test.jsonl, ood.jsonl, images/&lt;id&gt;.png and dataset.json into <paramref name="outDir"/>.
    /// Everything goes to a temporary sibling folder first and is renamed at the end, so a crash never leaves a
    /// dataset that looks complete. An existing folder is replaced only with <paramref name="overwrite"/>.
    /// <paramref name="progress"/> gets (split, done, total) from worker threads.
    /// </summary>
    public static GenerationReport Write(string outDir, MiniK12Config config, bool overwrite = false, Action<Split, int, int>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        outDir = Path.GetFullPath(outDir);
        if (Directory.Exists(outDir) && !overwrite) throw new IOException($"{outDir} already exists (use --force to replace it)");
        var tmp = $"{outDir}.tmp-{Environment.ProcessId}-{Stopwatch.GetTimestamp():x}";
        Directory.CreateDirectory(Path.Combine(tmp, "images"));
        int redrawn = 0;
        try
        {
            var trainKeys = new HashSet<ulong>();
            foreach (var split in Enum.GetValues<Split>())
            {
                int total = config.Count(split), done = 0;
                using var file = new FileStream(Path.Combine(tmp, FileName(split)), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                const int chunk = 2048;
                for (int start = 0; start < total; start += chunk)
                {
                    int n = Math.Min(chunk, total - start);
                    var lines = new byte[n][];
                    var keys = new ulong[n];
                    IReadOnlySet<ulong>? exclude = split == Split.Train ? null : trainKeys;
                    Parallel.For(0, n, i =>
                    {
                        var (p, attempts) = MakeUnique(config, split, start + i, exclude);
                        if (attempts > 0) Interlocked.Add(ref redrawn, attempts);
                        File.WriteAllBytes(Path.Combine(tmp, p.ImagePath), Png.Encode(p.Image!));
                        lines[i] = ToJsonLine(p);
                        keys[i] = Key(p);
                        int d = Interlocked.Increment(ref done);
                        if (d % 256 == 0 || d == total) progress?.Invoke(split, d, total);
                    });
                    foreach (var line in lines) { file.Write(line); file.WriteByte((byte)'\n'); }
                    if (split == Split.Train) trainKeys.UnionWith(keys);
                }
                if (total == 0) progress?.Invoke(split, 0, 0);
            }
            File.WriteAllBytes(Path.Combine(tmp, "dataset.json"), DatasetJson(config));
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            Directory.Move(tmp, outDir);
        }
        catch
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { /* leave the clearly-named temp folder */ }
            throw;
        }
        return new GenerationReport(outDir, config.Train, config.Test, config.Ood, redrawn, clock.Elapsed.TotalSeconds);
    }

    internal static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>One JSONL record (snake_case fields; choices only for multiple choice).</summary>
    public static byte[] ToJsonLine(Problem p)
    {
        using var buffer = new MemoryStream(512);
        using (var w = new Utf8JsonWriter(buffer, JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("subject", p.Subject);
            w.WriteString("family", p.Family);
            w.WriteString("level", p.Level);
            w.WriteString("question", p.Question);
            w.WriteString("answer", p.Answer);
            w.WriteString("answer_type", p.AnswerType.ToName());
            if (p.Choices is not null)
            {
                w.WriteStartArray("choices");
                foreach (var c in p.Choices) w.WriteStringValue(c);
                w.WriteEndArray();
            }
            w.WriteStartArray("solution_steps");
            foreach (var s in p.SolutionSteps) w.WriteStringValue(s);
            w.WriteEndArray();
            w.WriteString("image", p.ImagePath);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    static byte[] DatasetJson(MiniK12Config config)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("name", "MiniK12");
            w.WriteString("generator_version", Version);
            w.WriteNumber("seed", config.Seed);
            w.WriteNumber("train_multiple_choice", config.TrainMultipleChoice);
            w.WriteStartObject("counts");
            foreach (var split in Enum.GetValues<Split>()) w.WriteNumber(SplitName(split), config.Count(split));
            w.WriteEndObject();
            w.WriteStartArray("families");
            foreach (var f in Catalog.All)
            {
                w.WriteStartObject();
                w.WriteString("name", f.Name);
                w.WriteString("subject", f.Subject);
                w.WriteString("level", f.Level);
                w.WriteString("shift_parameter", f.RangeMeaning);
                w.WriteString("train_range", $"{f.TrainRange.Min}-{f.TrainRange.Max}");
                w.WriteString("ood_range", $"{f.OodRange.Min}-{f.OodRange.Max}");
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        buffer.WriteByte((byte)'\n');
        return buffer.ToArray();
    }
}
