using MMEureka.Data;
using MMEureka.Rewards;

namespace MMEureka.Tests.Data;

public class LoaderTests : IDisposable
{
    readonly string _dir = Path.Combine(Path.GetTempPath(), "minik12-loader-" + Guid.NewGuid().ToString("N"));
    readonly MiniK12Config _config = new(Seed: 5, Train: 12, Test: 4, Ood: 4);

    public LoaderTests() => MiniK12Generator.Write(_dir, _config);

    public void Dispose() => Directory.Delete(_dir, true);

    string TrainPath => Path.Combine(_dir, "train.jsonl");

    [Fact]
    public void LoadsWhatWasGenerated()
    {
        var loaded = MiniK12.Load(_dir, Split.Train);
        var made = MiniK12Generator.GenerateSplit(_config, Split.Train);
        Assert.Equal(12, loaded.Count);
        for (int i = 0; i < made.Length; i++)
        {
            Assert.True(made[i].SameAs(loaded[i]), made[i].Id);
            Assert.Equal(made[i].Image!.Pixels, loaded[i].Image!.Pixels);
        }
    }

    void ReplaceLine(int lineNumber, Func<string, string> edit)
    {
        var lines = File.ReadAllLines(TrainPath);
        lines[lineNumber - 1] = edit(lines[lineNumber - 1]);
        File.WriteAllLines(TrainPath, lines);
    }

    MiniK12FormatException LoadFails() => Assert.Throws<MiniK12FormatException>(() => MiniK12.Load(_dir, Split.Train));

    [Fact]
    public void BadJsonNamesFileAndLine()
    {
        ReplaceLine(3, l => l[..^5]);
        var e = LoadFails();
        Assert.Contains($"{TrainPath}:3:", e.Message);
        Assert.Contains("invalid JSON", e.Message);
    }

    [Fact]
    public void MissingFieldIsNamed()
    {
        ReplaceLine(2, l => l.Replace("\"level\":", "\"levels\":"));
        var e = LoadFails();
        Assert.Contains(":2:", e.Message);
        Assert.Contains("'level'", e.Message);
    }

    [Fact]
    public void WrongFieldTypeIsNamed()
    {
        ReplaceLine(1, l => System.Text.RegularExpressions.Regex.Replace(l, "\"solution_steps\":\\[[^\\]]*\\]", "\"solution_steps\":\"one\""));
        Assert.Contains("'solution_steps' must be an array", LoadFails().Message);
    }

    [Fact]
    public void AnswerMustParseForItsType()
    {
        int line = MiniK12.Load(_dir, Split.Train).ToList().FindIndex(p => p.AnswerType == AnswerType.Fraction) + 1;
        ReplaceLine(line, l => System.Text.RegularExpressions.Regex.Replace(l, "\"answer\":\"[^\"]*\"", "\"answer\":\"three quarters\""));
        var e = LoadFails();
        Assert.Contains($":{line}:", e.Message);
        Assert.Contains("'answer'", e.Message);
    }

    [Fact]
    public void ChoicesOnlyForMultipleChoice()
    {
        int line = MiniK12.Load(_dir, Split.Train).ToList().FindIndex(p => p.AnswerType == AnswerType.Integer) + 1;
        ReplaceLine(line, l => l.Replace("\"solution_steps\":", "\"choices\":[\"1\",\"2\",\"3\",\"4\"],\"solution_steps\":"));
        Assert.Contains("'choices' is only allowed", LoadFails().Message);
    }

    [Fact]
    public void MissingImageIsNamed()
    {
        var first = MiniK12.Load(_dir, Split.Train)[0];
        File.Delete(Path.Combine(_dir, first.ImagePath));
        var e = LoadFails();
        Assert.Contains(":1:", e.Message);
        Assert.Contains(first.ImagePath.Replace('/', Path.DirectorySeparatorChar).Split(Path.DirectorySeparatorChar)[^1], e.Message);
    }

    [Fact]
    public void CorruptImageIsNamed()
    {
        var first = MiniK12.Load(_dir, Split.Train)[0];
        File.WriteAllBytes(Path.Combine(_dir, first.ImagePath), [1, 2, 3]);
        var e = LoadFails();
        Assert.Contains(first.Id, e.Message);
    }
}
