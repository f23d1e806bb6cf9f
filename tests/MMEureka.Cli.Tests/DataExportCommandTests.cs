using System.Text.Json;
using System.Text.Json.Serialization;
using MMEureka.Data;
using MMEureka.Display;
using MMEureka.Rewards;
using Parquet;
using Parquet.Serialization;

namespace MMEureka.Cli.Tests;

/// <summary><c>mmeureka data export</c>: a tiny MiniK12 written for OpenRLHF and for verl is read back field by field
/// (chat structure, images decoded to the problem's pixels, gold answers); bad input gets one line and writes nothing.</summary>
public sealed class DataExportCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "mmeureka-cli-export-" + Guid.NewGuid().ToString("N"));
    private readonly string _data;

    public DataExportCommandTests()
    {
        Directory.CreateDirectory(_dir);
        _data = Path.Combine(_dir, "data");
        // 12 train (about a quarter multiple choice), 6 test (half multiple choice), 3 OOD.
        var (code, _, err) = Run("data", "generate", "--out", _data, "--seed", "3", "--train", "12", "--test", "6", "--ood", "3");
        Assert.True(code == 0, err);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, true);
    }

    private static (int code, string stdout, string stderr) Run(params string[] args) => CliHarness.Run(args);

    private IReadOnlyList<Problem> Problems(Split split) => MiniK12.Load(_data, split);

    private static void AssertSameImage(RasterImage expected, RasterImage actual)
    {
        Assert.Equal((expected.Width, expected.Height, expected.Channels), (actual.Width, actual.Height, actual.Channels));
        Assert.Equal(expected.Pixels, actual.Pixels);
    }

    private void AssertNothingLeftBeside(string outDir) =>
        Assert.Empty(Directory.GetDirectories(_dir, Path.GetFileName(outDir) + ".tmp-*"));

    [Fact]
    public void OpenRlhfLinesHoldMmEurekasChatWithTheImageFileAndTheGoldAnswer()
    {
        var outDir = Path.Combine(_dir, "openrlhf");
        var (code, stdout, err) = Run("data", "export", "--format", "openrlhf", "--dir", _data, "--out", outDir);
        Assert.True(code == 0, err);
        Assert.Single(stdout.Trim().Split('\n'));
        Assert.Contains("12 train, 6 test, 3 ood", stdout);
        Assert.Contains("train.jsonl", stdout);
        AssertNothingLeftBeside(outDir);

        int multipleChoice = 0;
        foreach (var split in new[] { Split.Train, Split.Test, Split.Ood })
        {
            var problems = Problems(split);
            var lines = File.ReadAllLines(Path.Combine(outDir, MiniK12Generator.SplitName(split) + ".jsonl"));
            Assert.Equal(problems.Count, lines.Length);
            for (int i = 0; i < lines.Length; i++)
            {
                var p = problems[i];
                using var line = JsonDocument.Parse(lines[i]);
                var o = line.RootElement;
                Assert.Equal(["id", "message", "answer"], o.EnumerateObject().Select(f => f.Name));
                Assert.Equal(p.Id, o.GetProperty("id").GetString());
                Assert.Equal(p.Answer, o.GetProperty("answer").GetString());

                // message is a JSON string that holds the chat list (MM-EUREKA's README, "Custom dataset").
                Assert.Equal(JsonValueKind.String, o.GetProperty("message").ValueKind);
                using var chat = JsonDocument.Parse(o.GetProperty("message").GetString()!);
                var turn = Assert.Single(chat.RootElement.EnumerateArray());
                Assert.Equal("user", turn.GetProperty("role").GetString());
                var content = turn.GetProperty("content").EnumerateArray().ToArray();
                Assert.Equal(2, content.Length);
                Assert.Equal("image", content[0].GetProperty("type").GetString());
                Assert.Equal("text", content[1].GetProperty("type").GetString());
                Assert.Equal(p.Question, content[1].GetProperty("text").GetString());

                string uri = content[0].GetProperty("image").GetString()!;
                Assert.StartsWith("file:///", uri);
                string image = uri["file://".Length..];
                Assert.Equal(Path.GetFullPath(Path.Combine(outDir, "images", p.Id + ".png")), image);
                AssertSameImage(p.Image!, Png.Load(image));

                if (p.AnswerType == AnswerType.MultipleChoice)
                {
                    multipleChoice++;
                    // The options ride in the question text, as the policy reads them; the answer is the letter.
                    Assert.Matches(@"\(A\) .+ \(B\) .+ \(C\) .+ \(D\) .+$", p.Question);
                    Assert.Matches("^[A-D]$", o.GetProperty("answer").GetString()!);
                }
                // The exported answer earns the project's rule reward when a response gives it.
                Assert.Equal(1.0, MMEureka.Rewards.Rewards.Accuracy($"<think>x</think><answer>{o.GetProperty("answer").GetString()}</answer>",
                                                                    p.Answer, p.AnswerType, p.Choices));
            }
        }
        Assert.True(multipleChoice >= 3, $"only {multipleChoice} multiple-choice problems were checked");
        Assert.Equal(21, Directory.GetFiles(Path.Combine(outDir, "images"), "*.png").Length);
    }

    [Fact]
    public void OpenRlhfTakesTheSplitsImageRootAndSystemPromptAsked()
    {
        var outDir = Path.Combine(_dir, "openrlhf-test");
        var (code, stdout, err) = Run("data", "export", "--format", "openrlhf", "--dir", _data, "--out", outDir, "--splits", "test",
                                      "--image-root", "/mnt/cluster/minik12/", "--system-prompt", "Think, then answer.");
        Assert.True(code == 0, err);
        Assert.Contains("6 test problems", stdout);
        Assert.Equal(["test.jsonl"], Directory.GetFiles(outDir).Select(Path.GetFileName));
        Assert.Equal(6, Directory.GetFiles(Path.Combine(outDir, "images")).Length);

        var p = Problems(Split.Test)[0];
        using var line = JsonDocument.Parse(File.ReadLines(Path.Combine(outDir, "test.jsonl")).First());
        using var chat = JsonDocument.Parse(line.RootElement.GetProperty("message").GetString()!);
        var turns = chat.RootElement.EnumerateArray().ToArray();
        Assert.Equal(2, turns.Length);
        Assert.Equal("system", turns[0].GetProperty("role").GetString());
        Assert.Equal("Think, then answer.", turns[0].GetProperty("content").GetString());
        Assert.Equal($"file:///mnt/cluster/minik12/images/{p.Id}.png",
                     turns[1].GetProperty("content")[0].GetProperty("image").GetString());
    }

    // The test's own view of verl's columns (geo3k.py's process_fn), independent of the exporter's classes.
    public sealed class Row
    {
        [JsonPropertyName("data_source")] public string? DataSource { get; set; }
        [JsonPropertyName("prompt")] public List<Message>? Prompt { get; set; }
        [JsonPropertyName("images")] public List<Image>? Images { get; set; }
        [JsonPropertyName("ability")] public string? Ability { get; set; }
        [JsonPropertyName("reward_model")] public Reward? RewardModel { get; set; }
        [JsonPropertyName("extra_info")] public Extra? ExtraInfo { get; set; }
    }
    public sealed class Message
    {
        [JsonPropertyName("role")] public string? Role { get; set; }
        [JsonPropertyName("content")] public string? Content { get; set; }
    }
    public sealed class Image
    {
        [JsonPropertyName("bytes")] public byte[]? Bytes { get; set; }
        [JsonPropertyName("path")] public string? Path { get; set; }
    }
    public sealed class Reward
    {
        [JsonPropertyName("style")] public string? Style { get; set; }
        [JsonPropertyName("ground_truth")] public string? GroundTruth { get; set; }
    }
    public sealed class Extra
    {
        [JsonPropertyName("split")] public string? Split { get; set; }
        [JsonPropertyName("index")] public long Index { get; set; }
        [JsonPropertyName("id")] public string? Id { get; set; }
        [JsonPropertyName("answer")] public string? Answer { get; set; }
        [JsonPropertyName("answer_type")] public string? AnswerType { get; set; }
        [JsonPropertyName("question")] public string? Question { get; set; }
        [JsonPropertyName("choices")] public List<string>? Choices { get; set; }
    }

    [Fact]
    public async Task VerlParquetHasGeo3ksColumnsWithThePngInsideAndTheGoldAnswer()
    {
        var outDir = Path.Combine(_dir, "verl");
        var (code, stdout, err) = Run("data", "export", "--format", "verl", "--dir", _data, "--out", outDir, "--splits", "test,ood");
        Assert.True(code == 0, err);
        Assert.Single(stdout.Trim().Split('\n'));
        Assert.Contains("6 test, 3 ood", stdout);
        Assert.Equal(["ood.parquet", "test.parquet"], Directory.GetFileSystemEntries(outDir).Select(Path.GetFileName).Order());
        AssertNothingLeftBeside(outDir);

        foreach (var split in new[] { Split.Test, Split.Ood })
        {
            var problems = Problems(split);
            var path = Path.Combine(outDir, MiniK12Generator.SplitName(split) + ".parquet");
            await using (var stream = File.OpenRead(path))
            await using (var reader = await ParquetReader.CreateAsync(stream))
            {
                Assert.Equal(["data_source", "prompt", "images", "ability", "reward_model", "extra_info"], reader.Schema.Fields.Select(f => f.Name));
                Assert.Equal(problems.Count, reader.Metadata!.NumRows);
            }

            IList<Row> rows;
            await using (var stream = File.OpenRead(path)) rows = (await ParquetSerializer.DeserializeAsync<Row>(stream)).Data;
            Assert.Equal(problems.Count, rows.Count);
            for (int i = 0; i < rows.Count; i++)
            {
                var (r, p) = (rows[i], problems[i]);
                Assert.Equal("minik12", r.DataSource);
                Assert.Equal("math", r.Ability);
                var turn = Assert.Single(r.Prompt!);
                Assert.Equal("user", turn.Role);
                Assert.Equal("<image>" + p.Question, turn.Content);
                var image = Assert.Single(r.Images!);
                Assert.Equal($"images/{p.Id}.png", image.Path);
                AssertSameImage(p.Image!, Png.Decode(image.Bytes!));
                Assert.Equal("rule", r.RewardModel!.Style);
                Assert.Equal(p.Answer, r.RewardModel.GroundTruth);
                Assert.Equal((MiniK12Generator.SplitName(split), (long)i, p.Id, p.Answer, p.AnswerType.ToName(), p.Question),
                             (r.ExtraInfo!.Split, r.ExtraInfo.Index, r.ExtraInfo.Id, r.ExtraInfo.Answer, r.ExtraInfo.AnswerType, r.ExtraInfo.Question));
                Assert.Equal(p.Choices ?? [], r.ExtraInfo.Choices!);
                if (p.AnswerType == AnswerType.MultipleChoice) Assert.Matches("^[A-D]$", r.RewardModel.GroundTruth!);
            }
        }

        // A system prompt comes first in the chat.
        var withSystem = Path.Combine(_dir, "verl-system");
        Assert.Equal(0, Run("data", "export", "--format", "verl", "--dir", _data, "--out", withSystem, "--splits", "ood", "--system-prompt", "S").code);
        await using (var stream = File.OpenRead(Path.Combine(withSystem, "ood.parquet")))
        {
            var row = (await ParquetSerializer.DeserializeAsync<Row>(stream)).Data[0];
            Assert.Equal([("system", "S"), ("user", "<image>" + Problems(Split.Ood)[0].Question)], row.Prompt!.Select(m => (m.Role, m.Content)));
        }
    }

    [Fact]
    public void BadInputGetsOneLineNamingItAndWritesNothing()
    {
        var outDir = Path.Combine(_dir, "out");
        void Fails(string expected, params string[] args)
        {
            var (code, _, err) = Run(["data", "export", .. args]);
            Assert.Equal(1, code);
            Assert.Contains(expected, err);
            Assert.Single(err.Trim().Split('\n'));
            Assert.False(Directory.Exists(outDir));
            AssertNothingLeftBeside(outDir);
        }

        var missing = Path.Combine(_dir, "no-such-data");
        Fails(missing, "--format", "verl", "--dir", missing, "--out", outDir);
        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        Fails(Path.Combine(empty, "train.jsonl"), "--format", "openrlhf", "--dir", empty, "--out", outDir);
        Fails("unknown split 'dev'", "--format", "verl", "--dir", _data, "--out", outDir, "--splits", "train,dev");
        Fails("outside the dataset folder", "--format", "verl", "--dir", _data, "--out", Path.Combine(_data, "verl"));

        // A broken image fails the whole export before anything is written.
        File.WriteAllText(Path.Combine(_data, "images", "test-000002.png"), "not a png");
        Fails("test-000002", "--format", "openrlhf", "--dir", _data, "--out", outDir);

        // An existing output folder is kept unless --force.
        Directory.CreateDirectory(outDir);
        var (code, _, err) = Run("data", "export", "--format", "verl", "--dir", _data, "--out", outDir, "--splits", "train");
        Assert.Equal(1, code);
        Assert.Contains("--force", err);
        Assert.Empty(Directory.GetFileSystemEntries(outDir));
        (code, _, err) = Run("data", "export", "--format", "verl", "--dir", _data, "--out", outDir, "--splits", "train", "--force");
        Assert.True(code == 0, err);
        Assert.True(File.Exists(Path.Combine(outDir, "train.parquet")));
    }
}
