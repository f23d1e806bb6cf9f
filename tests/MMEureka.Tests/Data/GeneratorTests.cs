using MMEureka.Data;
using MMEureka.Data.Families;
using MMEureka.Rewards;
using RuleRewards = MMEureka.Rewards.Rewards;

namespace MMEureka.Tests.Data;

public class GeneratorTests
{
    static readonly MiniK12Config Small = new(Seed: 7, Train: 60, Test: 20, Ood: 20);

    static string TempDir() => Path.Combine(Path.GetTempPath(), "minik12-tests-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void SameSeedGivesIdenticalBytes()
    {
        string a = TempDir(), b = TempDir(), c = TempDir();
        try
        {
            MiniK12Generator.Write(a, Small);
            MiniK12Generator.Write(b, Small);
            MiniK12Generator.Write(c, Small with { Seed = 8 });
            foreach (var file in new[] { "train.jsonl", "test.jsonl", "ood.jsonl", "dataset.json", "images/train-000013.png", "images/ood-000019.png" })
                Assert.Equal(File.ReadAllBytes(Path.Combine(a, file)), File.ReadAllBytes(Path.Combine(b, file)));
            Assert.NotEqual(File.ReadAllBytes(Path.Combine(a, "train.jsonl")), File.ReadAllBytes(Path.Combine(c, "train.jsonl")));
            Assert.Equal(100, Directory.GetFiles(Path.Combine(a, "images")).Length);
            Assert.Empty(Directory.GetDirectories(Path.GetDirectoryName(a)!, Path.GetFileName(a) + ".tmp-*"));
        }
        finally
        {
            foreach (var d in new[] { a, b, c }) if (Directory.Exists(d)) Directory.Delete(d, true);
        }
    }

    [Fact]
    public void RefusesToOverwriteWithoutForce()
    {
        string dir = TempDir();
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, "keep.txt"), "x");
            Assert.Throws<IOException>(() => MiniK12Generator.Write(dir, Small with { Train = 3, Test = 1, Ood = 1 }));
            Assert.True(File.Exists(Path.Combine(dir, "keep.txt")));
        }
        finally { Directory.Delete(dir, true); }
    }

    public static TheoryData<string> FamilyNames() => new(Catalog.All.Select(f => f.Name));

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void EveryFamilyMakesValidProblemsWithinBudget(string name)
    {
        var family = Catalog.Get(name);
        for (int i = 0; i < 300; i++)
        {
            bool ood = i % 2 == 1, mc = i % 3 == 0;
            var rng = new Rng((ulong)i * 7919);
            var p = MiniK12Generator.FromDraft(family.Generate(rng, ood), family, $"t{i}", mc, rng, ood);
            string response = p.GoldResponse;
            Assert.True(p.Question.Length <= 80, $"question too long ({p.Question.Length}): {p.Question}");
            Assert.True(Problem.TokenCount(response) <= 100, $"gold response {Problem.TokenCount(response)} tokens: {response}");
            Assert.All(p.Question + string.Concat(p.SolutionSteps) + p.Answer, ch => Assert.InRange(ch, ' ', '~'));
            Assert.InRange(p.SolutionSteps.Count, 2, 6);
            Assert.Equal((48, 48, 3), (p.Image!.Width, p.Image.Height, p.Image.Channels));
            // The gold answer verifies against itself and the gold response earns the full reward.
            Assert.True(Verifier.IsEquivalent(p.Answer, p.Answer, p.AnswerType, p.Choices));
            Assert.Equal(1.5, RuleRewards.Score(response, p.Answer, p.AnswerType, p.Choices).Total);
            string last = p.SolutionSteps[^1];
            if (p.AnswerType == AnswerType.MultipleChoice)
            {
                Assert.Equal(4, p.Choices!.Count);
                Assert.Equal(4, p.Choices.Distinct().Count());
                Assert.EndsWith($"({p.Answer})", last);
                string value = last[..last.IndexOf(" is (", StringComparison.Ordinal)];
                Assert.Equal(p.Choices[p.Answer[0] - 'A'], value);
                Assert.Contains($"({p.Answer}) {value}", p.Question);
                // The open solution's last step reaches the chosen option's value.
                Assert.True(Verifier.IsEquivalent(value, p.SolutionSteps[^2], family.Generate(new Rng(0), false).Type));
            }
            else
            {
                Assert.Null(p.Choices);
                Assert.EndsWith(p.Answer, last);
                Assert.True(Verifier.IsEquivalent(p.Answer, last, p.AnswerType));
            }
        }
    }

    [Theory]
    [MemberData(nameof(FamilyNames))]
    public void OodRangesAreDisjointFromTrainRanges(string name)
    {
        var family = Catalog.Get(name);
        Assert.True(family.TrainRange.Max < family.OodRange.Min || family.OodRange.Max < family.TrainRange.Min);
        var train = Enumerable.Range(0, 400).SelectMany(i => family.Generate(new Rng((ulong)i), false).RangeValues).ToArray();
        var ood = Enumerable.Range(0, 400).SelectMany(i => family.Generate(new Rng((ulong)i), true).RangeValues).ToArray();
        Assert.All(train, v => Assert.InRange(v, family.TrainRange.Min, family.TrainRange.Max));
        Assert.All(ood, v => Assert.InRange(v, family.OodRange.Min, family.OodRange.Max));
        // The declared ranges are tight where they face each other: those ends are reached.
        if (family.TrainRange.Max < family.OodRange.Min) Assert.Equal((family.TrainRange.Max, family.OodRange.Min), (train.Max(), ood.Min()));
        else Assert.Equal((family.TrainRange.Min, family.OodRange.Max), (train.Min(), ood.Max()));
    }

    [Fact]
    public void TestAndOodNeverDuplicateTrain()
    {
        var config = new MiniK12Config(Seed: 3, Train: 2000, Test: 500, Ood: 200);
        var train = MiniK12Generator.GenerateSplit(config, Split.Train);
        var keys = train.Select(MiniK12Generator.Key).ToHashSet();
        var test = MiniK12Generator.GenerateSplit(config, Split.Test, keys);
        var ood = MiniK12Generator.GenerateSplit(config, Split.Ood, keys);
        Assert.Equal(0, test.Concat(ood).Count(p => keys.Contains(MiniK12Generator.Key(p))));
        // Without the check some clock test problems would repeat train ones (few hours x minutes x positions).
        int raw = Enumerable.Range(0, config.Test).Count(i => keys.Contains(MiniK12Generator.Key(MiniK12Generator.Make(config, Split.Test, i))));
        Assert.True(raw > 0);
        // Test and OOD are half multiple choice within every family; train about a quarter.
        Assert.All(test.GroupBy(p => p.Family), g => Assert.Equal(g.Count() / 2, g.Count(p => p.AnswerType == AnswerType.MultipleChoice)));
        Assert.InRange(train.Count(p => p.AnswerType == AnswerType.MultipleChoice) / 2000.0, 0.22, 0.28);
        Assert.Equal(Catalog.All.Select(f => f.Name), train.Take(10).Select(p => p.Family));
    }

    [Fact]
    public void QuestionTextAloneDoesNotBeatTheFamilyPrior()
    {
        var config = new MiniK12Config(Seed: 11, Train: 3000, Test: 500, Ood: 0);
        var train = MiniK12Generator.GenerateSplit(config, Split.Train);
        var test = MiniK12Generator.GenerateSplit(config, Split.Test, train.Select(MiniK12Generator.Key).ToHashSet());
        var report = TextOnlyBaseline.Evaluate(train, test);
        Assert.Equal(10, report.Rows.Count);
        Assert.True(report.Overall.QuestionText <= report.Overall.FamilyPrior + 0.03, report.ToMarkdown());
        Assert.InRange(report.Overall.FamilyPrior, 0.05, 0.35);
    }

    [Fact]
    public void BaselineUsesTheQuestionTextWhenItGivesTheAnswerAway()
    {
        Problem P(string q, string a) => new("x", "s", "f", "elementary", q, a, AnswerType.Integer, null, ["a", "b"], "i.png");
        var train = new[] { P("one?", "1"), P("one?", "1"), P("two?", "2"), P("two?", "2"), P("two?", "2") };
        var report = TextOnlyBaseline.Evaluate(train, [P("one?", "1"), P("two?", "2"), P("three?", "3"), P("new?", "2")]);
        Assert.Equal(0.75, report.Overall.QuestionText);
        Assert.Equal(0.5, report.Overall.FamilyPrior);
    }

    [Fact]
    public void DecimalsAndChoicesAreFormattedExactly()
    {
        Assert.Equal("3.75", Draft.Format(new Rational(15, 4), AnswerType.Decimal));
        Assert.Equal("-0.05", Draft.Format(new Rational(-1, 20), AnswerType.Decimal));
        Assert.Equal("12", Draft.Format(12, AnswerType.Decimal));
        Assert.Equal("3/4", Draft.Format(new Rational(6, 8), AnswerType.Fraction));
        Assert.Throws<ArgumentException>(() => Draft.Format(new Rational(1, 3), AnswerType.Decimal));
    }

    [Fact]
    public void TokenCountTreatsTagsAsOneToken() =>
        Assert.Equal(4 + 3 + 1, Problem.TokenCount("<think>a\nb</think><answer>4</answer>"));
}
