using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using MMEureka.Display;
using MMEureka.Rewards;
using Parquet.Serialization;

namespace MMEureka.Data;

/// <summary>The distributed RL engines a MiniK12 dataset can be exported for.</summary>
public enum ExportFormat
{
    /// <summary>MM-EUREKA's OpenRLHF fork: one JSONL per split (<c>id</c>, <c>message</c>, <c>answer</c>) and PNG files.</summary>
    OpenRlhf,
    /// <summary>verl's multimodal RL dataset (as <c>examples/data_preprocess/geo3k.py</c> writes it): one parquet per split.</summary>
    Verl,
}

/// <summary>What one export wrote: problems per split, the files (relative to <see cref="Directory"/>), the time.</summary>
public sealed record ExportReport(string Directory, ExportFormat Format, IReadOnlyList<(Split Split, int Count, string File)> Splits, int Images, double Seconds);

/// <summary>
/// Writes a MiniK12 dataset in the formats of existing distributed RL engines, so a recipe tried here can be run on
/// GPUs with a real VLM. The question text is the policy's prompt as it is (<see cref="Models.PolicyPrompt"/>: the
/// question, multiple-choice options inline as <c>(A) 2 (B) 3 ...</c>), optionally after a system message; the
/// answer is the gold answer as the project's rule reward reads it (a letter for multiple choice), unwrapped: MM-EUREKA's
/// accuracy reward wraps it in <c>$...$</c> itself. Everything goes to a temporary sibling folder that is renamed
/// at the end, so a failed export leaves nothing half-written.
/// </summary>
public static class DatasetExport
{
    /// <summary>verl's <c>data_source</c> column (verl picks the reward function by it; none is built in for MiniK12).</summary>
    public const string DataSource = "minik12";

    /// <summary>verl's placeholder for the image in the prompt text (the geo3k problems start with it).</summary>
    public const string ImagePlaceholder = "<image>";

    /// <summary>The file an export writes for a split: <c>train.jsonl</c> or <c>train.parquet</c>.</summary>
    public static string FileName(ExportFormat format, Split split) =>
        MiniK12Generator.SplitName(split) + (format == ExportFormat.OpenRlhf ? ".jsonl" : ".parquet");

    /// <summary>Parses a format name: <c>openrlhf</c> or <c>verl</c>.</summary>
    public static ExportFormat ParseFormat(string name) => name.Trim().ToLowerInvariant() switch
    {
        "openrlhf" => ExportFormat.OpenRlhf,
        "verl" => ExportFormat.Verl,
        _ => throw new ArgumentException($"unknown export format '{name}' (expected openrlhf or verl)"),
    };

    /// <summary>Parses a comma-separated split list (<c>train,test,ood</c>); repeated names count once.</summary>
    public static IReadOnlyList<Split> ParseSplits(string list)
    {
        var splits = new List<Split>();
        foreach (var name in list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var split = name.ToLowerInvariant() switch
            {
                "train" => Split.Train,
                "test" => Split.Test,
                "ood" => Split.Ood,
                _ => throw new ArgumentException($"unknown split '{name}' (expected train, test or ood)"),
            };
            if (!splits.Contains(split)) splits.Add(split);
        }
        if (splits.Count == 0) throw new ArgumentException("--splits names no split (expected e.g. train,test,ood)");
        return splits;
    }

    /// <summary>
    /// Exports the <paramref name="splits"/> of the MiniK12 dataset in <paramref name="dataDir"/> to
    /// <paramref name="outDir"/>. OpenRLHF: <c>SPLIT.jsonl</c> and <c>images/&lt;id&gt;.png</c>, the messages
    /// pointing at <c>file://IMAGEROOT/images/&lt;id&gt;.png</c> (<paramref name="imageRoot"/> defaults to the
    /// absolute output folder; give the folder the export will sit in on the training machine). verl:
    /// <c>SPLIT.parquet</c> with the PNG bytes inside. An existing <paramref name="outDir"/> is replaced only with
    /// <paramref name="overwrite"/>. Throws <see cref="DirectoryNotFoundException"/> for a missing data folder and
    /// <see cref="MiniK12FormatException"/> for a bad dataset, before anything is written.
    /// </summary>
    public static ExportReport Write(string dataDir, string outDir, ExportFormat format, IReadOnlyList<Split> splits,
                                     bool overwrite = false, string? imageRoot = null, string? systemPrompt = null)
    {
        var clock = Stopwatch.StartNew();
        dataDir = Path.GetFullPath(dataDir);
        outDir = Path.GetFullPath(outDir);
        if (!Directory.Exists(dataDir)) throw new DirectoryNotFoundException($"MiniK12 folder not found: {dataDir}");
        if (splits.Count == 0) throw new ArgumentException("no split to export");
        if (Directory.Exists(outDir) && !overwrite) throw new IOException($"{outDir} already exists (use --force to replace it)");
        if (File.Exists(outDir)) throw new IOException($"{outDir} is a file, not a folder");
        if (outDir == dataDir || outDir.StartsWith(dataDir + Path.DirectorySeparatorChar) || dataDir.StartsWith(outDir + Path.DirectorySeparatorChar))
            throw new ArgumentException($"--out {outDir} must lie outside the dataset folder {dataDir} (and not contain it)");
        if (systemPrompt is { Length: 0 }) systemPrompt = null;

        // Load (and validate) every split first: a bad dataset fails before any output exists.
        var data = splits.Select(s => (Split: s, Problems: MiniK12.Load(dataDir, s))).ToList();
        string root = (string.IsNullOrWhiteSpace(imageRoot) ? outDir : imageRoot).Replace('\\', '/').TrimEnd('/');

        var tmp = $"{outDir}.tmp-{Environment.ProcessId}-{Stopwatch.GetTimestamp():x}";
        Directory.CreateDirectory(tmp);
        var written = new List<(Split, int, string)>();
        int images = 0;
        try
        {
            foreach (var (split, problems) in data)
            {
                var png = new byte[problems.Count][];
                Parallel.For(0, problems.Count, i => png[i] = Png.Encode(problems[i].Image!));
                string file = FileName(format, split);
                if (format == ExportFormat.OpenRlhf)
                {
                    Directory.CreateDirectory(Path.Combine(tmp, "images"));
                    using var stream = new FileStream(Path.Combine(tmp, file), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    for (int i = 0; i < problems.Count; i++)
                    {
                        File.WriteAllBytes(Path.Combine(tmp, problems[i].ImagePath), png[i]);
                        stream.Write(OpenRlhfLine(problems[i], $"file://{root}/{problems[i].ImagePath}", systemPrompt));
                        stream.WriteByte((byte)'\n');
                    }
                }
                else
                {
                    var rows = problems.Select((p, i) => VerlRow(p, split, i, png[i], systemPrompt)).ToList();
                    using var stream = new FileStream(Path.Combine(tmp, file), FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    ParquetSerializer.SerializeAsync(rows, stream).GetAwaiter().GetResult();
                }
                images += problems.Count;
                written.Add((split, problems.Count, file));
            }
            if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true);
            Directory.Move(tmp, outDir);
        }
        catch
        {
            try { Directory.Delete(tmp, recursive: true); } catch (IOException) { /* leave the clearly-named temp folder */ }
            throw;
        }
        return new ExportReport(outDir, format, written, images, clock.Elapsed.TotalSeconds);
    }

    /// <summary>
    /// One line of MM-EUREKA's OpenRLHF JSONL (README, "Custom dataset"): <c>id</c>; <c>message</c>, a JSON
    /// <em>string</em> holding the chat list <c>[{"role":"user","content":[{"type":"image","image":"file://..."},
    /// {"type":"text","text":QUESTION}]}]</c> (after a system message when one is given); <c>answer</c>, the gold
    /// answer (the training script's <c>--label_key</c> default).
    /// </summary>
    public static byte[] OpenRlhfLine(Problem p, string imageUri, string? systemPrompt = null)
    {
        using var message = new MemoryStream(256);
        using (var w = new Utf8JsonWriter(message, MiniK12Generator.JsonOptions))
        {
            w.WriteStartArray();
            if (systemPrompt is not null)
            {
                w.WriteStartObject();
                w.WriteString("role", "system");
                w.WriteString("content", systemPrompt);
                w.WriteEndObject();
            }
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "image");
            w.WriteString("image", imageUri);
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", p.Question);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
        }
        using var line = new MemoryStream(512);
        using (var w = new Utf8JsonWriter(line, MiniK12Generator.JsonOptions))
        {
            w.WriteStartObject();
            w.WriteString("id", p.Id);
            w.WriteString("message", System.Text.Encoding.UTF8.GetString(message.ToArray()));
            w.WriteString("answer", p.Answer);
            w.WriteEndObject();
        }
        return line.ToArray();
    }

    /// <summary>One row of verl's parquet for problem <paramref name="index"/> of <paramref name="split"/>.</summary>
    public static VerlRecord VerlRow(Problem p, Split split, int index, byte[] png, string? systemPrompt = null)
    {
        var prompt = new List<VerlMessage>();
        if (systemPrompt is not null) prompt.Add(new VerlMessage { Role = "system", Content = systemPrompt });
        prompt.Add(new VerlMessage { Role = "user", Content = ImagePlaceholder + p.Question });
        return new VerlRecord
        {
            DataSource = DataSource,
            Prompt = prompt,
            Images = [new VerlImage { Bytes = png, Path = p.ImagePath }],
            Ability = "math",
            RewardModel = new VerlRewardModel { Style = "rule", GroundTruth = p.Answer },
            ExtraInfo = new VerlExtraInfo
            {
                Split = MiniK12Generator.SplitName(split),
                Index = index,
                Id = p.Id,
                Answer = p.Answer,
                AnswerType = p.AnswerType.ToName(),
                Question = p.Question,
                Choices = [.. p.Choices ?? []],
            },
        };
    }

    /// <summary>A row of verl's RL parquet (columns of geo3k.py's <c>process_fn</c>).</summary>
    public sealed class VerlRecord
    {
        /// <summary>Picks the reward function (<see cref="DataSource"/>).</summary>
        [JsonPropertyName("data_source")] public string DataSource { get; set; } = "";
        /// <summary>The chat: the user's content is <c>&lt;image&gt;</c> followed by the question.</summary>
        [JsonPropertyName("prompt")] public List<VerlMessage> Prompt { get; set; } = [];
        /// <summary>One image, as the Hugging Face <c>Image</c> feature stores it (PNG bytes and a path).</summary>
        [JsonPropertyName("images")] public List<VerlImage> Images { get; set; } = [];
        /// <summary><c>math</c>, as in geo3k.</summary>
        [JsonPropertyName("ability")] public string Ability { get; set; } = "";
        /// <summary>Rule reward with the gold answer.</summary>
        [JsonPropertyName("reward_model")] public VerlRewardModel RewardModel { get; set; } = new();
        /// <summary>Split, index and the problem's own fields, for a custom reward function.</summary>
        [JsonPropertyName("extra_info")] public VerlExtraInfo ExtraInfo { get; set; } = new();
    }

    /// <summary>A chat message (<c>role</c>, <c>content</c>).</summary>
    public sealed class VerlMessage
    {
        /// <summary><c>system</c> or <c>user</c>.</summary>
        [JsonPropertyName("role")] public string Role { get; set; } = "";
        /// <summary>The text; verl splits it at <c>&lt;image&gt;</c> to place the images.</summary>
        [JsonPropertyName("content")] public string Content { get; set; } = "";
    }

    /// <summary>An image cell: PNG bytes and the image's path inside the MiniK12 folder.</summary>
    public sealed class VerlImage
    {
        /// <summary>The PNG file's bytes.</summary>
        [JsonPropertyName("bytes")] public byte[] Bytes { get; set; } = [];
        /// <summary><c>images/&lt;id&gt;.png</c>.</summary>
        [JsonPropertyName("path")] public string Path { get; set; } = "";
    }

    /// <summary>verl's <c>reward_model</c> column.</summary>
    public sealed class VerlRewardModel
    {
        /// <summary><c>rule</c>.</summary>
        [JsonPropertyName("style")] public string Style { get; set; } = "";
        /// <summary>The gold answer, as the rule reward compares it (a letter for multiple choice).</summary>
        [JsonPropertyName("ground_truth")] public string GroundTruth { get; set; } = "";
    }

    /// <summary>verl's <c>extra_info</c> column: geo3k's split, index, answer and question, plus the problem's id,
    /// answer type and multiple-choice options (empty for open questions), which the project's verifier uses.</summary>
    public sealed class VerlExtraInfo
    {
        /// <summary><c>train</c>, <c>test</c> or <c>ood</c>.</summary>
        [JsonPropertyName("split")] public string Split { get; set; } = "";
        /// <summary>Row number within the split.</summary>
        [JsonPropertyName("index")] public long Index { get; set; }
        /// <summary>The MiniK12 id.</summary>
        [JsonPropertyName("id")] public string Id { get; set; } = "";
        /// <summary>The gold answer.</summary>
        [JsonPropertyName("answer")] public string Answer { get; set; } = "";
        /// <summary><c>integer</c>, <c>fraction</c>, <c>decimal</c> or <c>multiple_choice</c>.</summary>
        [JsonPropertyName("answer_type")] public string AnswerType { get; set; } = "";
        /// <summary>The question without the placeholder.</summary>
        [JsonPropertyName("question")] public string Question { get; set; } = "";
        /// <summary>The four option texts of a multiple-choice problem; empty otherwise.</summary>
        [JsonPropertyName("choices")] public List<string> Choices { get; set; } = [];
    }
}
