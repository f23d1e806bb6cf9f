using MMEureka.Data;
using MMEureka.Eval;
using MMEureka.Prm;

namespace MMEureka.Tests.Prm;

public sealed class BestOfNTests
{
    private static readonly Problem[] Problems = MiniK12Generator.GenerateSplit(new MiniK12Config(Seed: 3, Test: 2), Split.Test);

    private static BonCandidate C(bool correct, string? vote, params double[] prm) =>
        new(correct ? "right" : "wrong", new Solution([], vote), correct, vote, prm);

    [Fact]
    public void RandomPickIsTheExactExpectationOverCandidates()
    {
        var p = new BonProblem(Problems[0], [C(false, "1"), C(true, "2"), C(false, "1"), C(true, "2")]);
        Assert.Equal(0.0, BestOfN.RandomPick(p, 1));
        Assert.Equal(0.5, BestOfN.RandomPick(p, 2));
        Assert.Equal(1 / 3.0, BestOfN.RandomPick(p, 3), 12);
        Assert.Equal(0.5, BestOfN.RandomPick(p, 4));
        // The same as enumerating every uniform pick of the first n candidates.
        for (int n = 1; n <= 4; n++)
            Assert.Equal(Enumerable.Range(0, n).Average(i => p.Candidates[i].Correct ? 1.0 : 0.0), BestOfN.RandomPick(p, n), 12);
    }

    [Fact]
    public void MajorityVoteCountsAnswersAndBreaksTiesToTheAnswerSeenFirst()
    {
        var p = new BonProblem(Problems[0], [C(false, "7"), C(true, "3"), C(true, "3"), C(false, null), C(false, null), C(false, "7"), C(false, "7")]);
        Assert.Equal(0, BestOfN.MajorityVote(p, 1));  // one vote for 7
        Assert.Equal(0, BestOfN.MajorityVote(p, 2));  // 7 and 3 tie: 7 came first
        Assert.Equal(1, BestOfN.MajorityVote(p, 3));  // 3 twice
        Assert.Equal(1, BestOfN.MajorityVote(p, 5));  // no-answer candidates do not vote
        Assert.Equal(0, BestOfN.MajorityVote(p, 7));  // 7 three times
        var silent = new BonProblem(Problems[0], [C(true, null), C(true, null)]);
        Assert.Equal(0, BestOfN.MajorityVote(silent, 2));
    }

    [Fact]
    public void VoteKeysAgreeOnEquivalentAnswers()
    {
        var numeric = Problems[0] with { AnswerType = MMEureka.Rewards.AnswerType.Fraction, Choices = null };
        Assert.Equal(BestOfN.VoteKey(numeric, "0.5"), BestOfN.VoteKey(numeric, "1/2"));
        Assert.NotEqual(BestOfN.VoteKey(numeric, "0.5"), BestOfN.VoteKey(numeric, "0.25"));
        Assert.Null(BestOfN.VoteKey(numeric, null));
        var choice = numeric with { AnswerType = MMEureka.Rewards.AnswerType.MultipleChoice, Choices = ["2", "3", "5", "6"] };
        Assert.Equal("B", BestOfN.VoteKey(choice, "(B)"));
        Assert.Equal("B", BestOfN.VoteKey(choice, "b)"));
    }

    [Fact]
    public void TablePicksTheArgmaxPerAggregatorOnNestedPrefixes()
    {
        // Problem 0: candidate 0 wrong but with a high last step, candidate 1 right with a high minimum.
        var p0 = new BonProblem(Problems[0], [C(false, "1", 0.2, 0.9), C(true, "2", 0.6, 0.7), C(false, "1", 0.1, 0.1), C(false, "1", 0.5, 0.5)]);
        // Problem 1: every candidate right except the last, which scores best everywhere.
        var p1 = new BonProblem(Problems[1], [C(true, "4", 0.5), C(true, "4", 0.5), C(true, "4", 0.5), C(false, "5", 0.99)]);
        var table = BestOfN.Table([p0, p1], [1, 2, 4]);
        Assert.Equal([1, 2, 4], table.Ns);
        Assert.Equal(new[] { 0.5, 1.0, 0.5 }, table["min"]);    // p0: c0 / c1 / c1; p1: c0 / c0 / c3
        Assert.Equal(new[] { 0.5, 0.5, 0.0 }, table["last"]);   // p0 picks c0 (0.9) at N >= 1
        Assert.Equal(new[] { 0.5, 1.0, 0.5 }, table["product"]);
        Assert.Equal(new[] { 0.5, (0.5 + 1) / 2, (0.25 + 0.75) / 2 }, table[BestOfN.Random]);
        Assert.Equal(new[] { 0.5, 0.5, 0.5 }, table[BestOfN.Majority]); // p0: "1" wins (first, then 3 votes); p1: "4"
        Assert.Equal(new[] { PassAtK.Estimate(4, 1, 1) / 2 + PassAtK.Estimate(4, 3, 1) / 2, PassAtK.Estimate(4, 1, 2) / 2 + 0.5, 1.0 }, table[BestOfN.PassAtN]);
        Assert.DoesNotContain(table.Rows, r => r.Method == BestOfN.Orm);
        Assert.Throws<ArgumentException>(() => BestOfN.Table([p0], [8]));
        // Separation over all 4 candidates: min ranks p0's right one above its 3 wrong ones (1) and p1's right ones
        // below the wrong one (0); last ranks p0's right one (0.7) above 2 of its 3 wrong ones.
        Assert.Equal(0.5, table.Separation!["min"], 12);
        Assert.Equal((2 / 3.0 + 0) / 2, table.Separation!["last"], 12);
        Assert.False(table.Separation!.ContainsKey(BestOfN.Random));
    }

    [Fact]
    public void SeparationIsTheWithinProblemAucWithHalfCreditForTies()
    {
        var mixed = new BonProblem(Problems[0], [C(true, "2", 0.8), C(false, "1", 0.8), C(false, "1", 0.3), C(true, "2", 0.1)]);
        // Pairs (right, wrong): (0.8, 0.8) tie 1/2, (0.8, 0.3) 1, (0.1, 0.8) 0, (0.1, 0.3) 0 -> 1.5 / 4.
        Assert.Equal(0.375, BestOfN.Separation([mixed], c => c.Prm[0]), 12);
        // A problem whose candidates are all right (or all wrong) says nothing about ranking and is left out.
        var allRight = new BonProblem(Problems[1], [C(true, "4", 0.1), C(true, "4", 0.9)]);
        Assert.Equal(0.375, BestOfN.Separation([mixed, allRight], c => c.Prm[0]), 12);
        Assert.True(double.IsNaN(BestOfN.Separation([allRight], c => c.Prm[0])));
        // The mean is over problems, not over pairs: a perfect problem with 1 pair weighs as much as one with 4.
        var perfect = new BonProblem(Problems[1], [C(true, "4", 0.9), C(false, "5", 0.2)]);
        Assert.Equal((0.375 + 1) / 2, BestOfN.Separation([mixed, perfect], c => c.Prm[0]), 12);
    }

    [Fact]
    public void CandidatesRoundTripThroughTheirFile()
    {
        var p = new BonProblem(Problems[0], [C(true, "2", 0.25, 0.75) with { Response = "<think>a\nb</think><answer>2</answer>", Orm = 0.5 }]);
        var path = Path.Combine(Path.GetTempPath(), "bon-" + Guid.NewGuid().ToString("N") + ".jsonl");
        try
        {
            BestOfN.Save(path, [p]);
            var back = BestOfN.Load(path, Problems);
            var c = Assert.Single(Assert.Single(back).Candidates);
            Assert.Equal(new[] { 0.25, 0.75 }, c.Prm);
            Assert.Equal(0.5, c.Orm);
            Assert.Equal(["a", "b"], c.Solution.Thoughts);
            File.AppendAllText(path, "{\"id\":\"nope\"}\n");
            Assert.Contains(":2:", Assert.Throws<FormatException>(() => BestOfN.Load(path, Problems)).Message);
        }
        finally { File.Delete(path); }
    }
}
