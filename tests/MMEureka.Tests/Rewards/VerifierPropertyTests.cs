using FsCheck;
using FsCheck.Fluent;
using MMEureka.Rewards;
using RuleRewards = MMEureka.Rewards.Rewards;

namespace MMEureka.Tests.Rewards;

public class VerifierPropertyTests
{
    static readonly string[] Pieces =
    [
        "<think>", "</think>", "<answer>", "</answer>", "<answer", "answer>", "\\boxed{", "\\frac{", "}", "{", "(", ")",
        "1", "23", "-", "+", "/", ".", "%", "e", "E", "NaN", "1e309", "-0", " ", "\n", "\t", "B", "b)", "x = ",
        "\u0663", "\u0669\u0660", "\u2212", "\uff11", "é", "😀", "0.", ".5", "999999999999999999999999999999999999999999999999999999999999999999",
    ];

    static Arbitrary<string> Texts() =>
        Arb.From(Gen.Elements(Pieces).ListOf().Select(parts => string.Concat(parts)));

    [Fact]
    public void NeverThrowsOnArbitraryText() =>
        Prop.ForAll(Texts(), s =>
        {
            foreach (var type in Enum.GetValues<AnswerType>())
            {
                string gold = type == AnswerType.MultipleChoice ? "B" : "3/4";
                RuleRewards.Score(s, type == AnswerType.Fraction ? gold : type == AnswerType.MultipleChoice ? "B" : "3", type,
                    type == AnswerType.MultipleChoice ? ["1", "3/4", "2", "5"] : null);
            }
            return true;
        }).QuickCheckThrowOnFailure();

    [Theory]
    [InlineData("")]
    [InlineData("   \n\t ")]
    [InlineData("NaN")]
    [InlineData("1e309")]
    [InlineData("-0")]
    [InlineData("\u0663\u0664")]
    public void SpecialInputsAreHandled(string s)
    {
        Assert.False(Verifier.IsEquivalent("34", s, AnswerType.Integer));
        Assert.Equal(0.0, RuleRewards.Format(s));
    }

    [Fact]
    public void HugeAndNestedInputsFinish()
    {
        string mb = new('7', 1 << 20);
        Assert.False(Verifier.IsEquivalent("7", mb, AnswerType.Integer));
        string nested = string.Concat(Enumerable.Repeat("<answer><think>\\boxed{(", 50_000)) + "4";
        var r = RuleRewards.Score(nested, "4", AnswerType.Integer);
        Assert.Equal(0.0, r.Format);
        string unclosed = "<think>" + new string('x', 1 << 20) + "<answer>4";
        Assert.Equal(1.0, RuleRewards.Accuracy(unclosed, "4", AnswerType.Integer));
        Assert.Equal(0.0, RuleRewards.Format(unclosed));
        string deep = new string('(', 4_000) + "4" + new string(')', 4_000);
        Assert.True(Verifier.IsEquivalent("4", deep, AnswerType.Integer)); // too deep for the expression reader; the last number still reads
        Assert.False(Verifier.IsEquivalent("7", new string('7', 5_000), AnswerType.Integer)); // a 5,000-digit number is no answer
        Assert.False(Verifier.IsEquivalent("3", new string('(', 5_000) + "3" + new string(')', 5_000) + "+1", AnswerType.Integer));
    }

    static Gen<(long P, long Q)> Fractions() =>
        from p in Gen.Choose(-999, 999)
        from e in Gen.Choose(0, 3)
        from f in Gen.Choose(0, 2)
        select ((long)p, (long)Math.Pow(2, e) * (long)Math.Pow(5, f)); // terminating decimals

    static string[] Forms(long p, long q)
    {
        var r = new Rational(p, q);
        string dec = MMEureka.Data.Draft.Format(r, AnswerType.Decimal);
        return [r.ToString(), $"{p}/{q}", dec, dec.Contains('.') ? dec + "00" : dec + ".0", $"\\frac{{{p}}}{{{q}}}", $"\\boxed{{{dec}}}", (p >= 0 ? "+" : "") + dec];
    }

    [Fact]
    public void EquivalenceIsSymmetricAcrossNumberFormats() =>
        Prop.ForAll(Arb.From(Fractions()), Arb.From(Fractions()), (a, b) =>
        {
            var fa = Forms(a.P, a.Q);
            var fb = Forms(b.P, b.Q);
            bool same = new Rational(a.P, a.Q) == new Rational(b.P, b.Q);
            // Any written form of a as gold, any form of b as prediction, and the other way round.
            for (int i = 0; i < 3; i++) // the first three forms are valid gold strings
                foreach (var pred in fb)
                {
                    if (Verifier.IsEquivalent(fa[i], pred, AnswerType.Fraction) != same) return false;
                }
            for (int i = 0; i < 3; i++)
                foreach (var pred in fa)
                    if (Verifier.IsEquivalent(fb[i], pred, AnswerType.Fraction) != same) return false;
            return true;
        }).QuickCheckThrowOnFailure();

    [Fact]
    public void FormattingDoesNotChangeTheValue() =>
        Prop.ForAll(Arb.From(Fractions()), Arb.From(Gen.Choose(0, 3)), (f, spaces) =>
        {
            string dec = MMEureka.Data.Draft.Format(new Rational(f.P, f.Q), AnswerType.Decimal);
            string pad = new(' ', spaces);
            string plus = dec.StartsWith('-') ? dec : "+" + dec;
            string zeros = dec.Contains('.') ? dec + "000" : dec + ".000";
            return new[] { pad + dec + pad, plus, zeros, $"x ={pad}{dec}", $"{dec}{pad} cm" }
                .All(p => Verifier.IsEquivalent(dec, p, AnswerType.Decimal));
        }).QuickCheckThrowOnFailure();
}
