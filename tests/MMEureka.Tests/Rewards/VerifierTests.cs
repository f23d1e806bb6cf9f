using MMEureka.Rewards;

namespace MMEureka.Tests.Rewards;

public class VerifierTests
{
    [Theory]
    // integers, signs, surrounding text and units
    [InlineData("12", "12", AnswerType.Integer, true)]
    [InlineData("12", "x = 12 cm", AnswerType.Integer, true)]
    [InlineData("60", "60 degrees", AnswerType.Integer, true)]
    [InlineData("60", "60^\\circ", AnswerType.Integer, true)]
    [InlineData("60", "60°", AnswerType.Integer, true)]
    [InlineData("12", "12.0", AnswerType.Integer, true)]
    [InlineData("12", "+12", AnswerType.Integer, true)]
    [InlineData("-3", "-3", AnswerType.Integer, true)]
    [InlineData("-3", "x = -3", AnswerType.Integer, true)]
    [InlineData("-3", "\u22123", AnswerType.Integer, true)]
    [InlineData("-3", "3", AnswerType.Integer, false)]
    [InlineData("3", "-3", AnswerType.Integer, false)]
    [InlineData("0", "-0", AnswerType.Integer, true)]
    [InlineData("2", "5 - 3", AnswerType.Integer, true)]
    [InlineData("28", "7 x 4 = 28", AnswerType.Integer, true)]
    [InlineData("12", "13", AnswerType.Integer, false)]
    [InlineData("12", "120", AnswerType.Integer, false)]
    [InlineData("12", "", AnswerType.Integer, false)]
    [InlineData("12", "twelve", AnswerType.Integer, false)]
    [InlineData("12", "\\boxed{12}", AnswerType.Integer, true)]
    [InlineData("12", "so 11 + 1, \\boxed{12}", AnswerType.Integer, true)]
    [InlineData("12", "\\boxed{13} then 12", AnswerType.Integer, false)]
    // fractions and decimals compared exactly
    [InlineData("3/4", "0.75", AnswerType.Fraction, true)]
    [InlineData("3/4", ".75", AnswerType.Fraction, true)]
    [InlineData("3/4", "6/8", AnswerType.Fraction, true)]
    [InlineData("3/4", "3 / 4", AnswerType.Fraction, true)]
    [InlineData("3/4", "\\frac{3}{4}", AnswerType.Fraction, true)]
    [InlineData("3/4", "$\\dfrac{3}{4}$", AnswerType.Fraction, true)]
    [InlineData("3/4", "75%", AnswerType.Fraction, true)]
    [InlineData("3/4", "75\\%", AnswerType.Fraction, true)]
    [InlineData("3/4", "P = 3/4", AnswerType.Fraction, true)]
    [InlineData("3/4", "4/3", AnswerType.Fraction, false)]
    [InlineData("3/4", "0.7500001", AnswerType.Fraction, false)]
    [InlineData("1/3", "0.333", AnswerType.Fraction, false)]
    [InlineData("1/3", "0.3333333333333333333", AnswerType.Fraction, false)]
    [InlineData("-2/3", "-2/3", AnswerType.Fraction, true)]
    [InlineData("-2/3", "\\frac{-2}{3}", AnswerType.Fraction, true)]
    [InlineData("-2/3", "2/3", AnswerType.Fraction, false)]
    [InlineData("2", "4/2", AnswerType.Fraction, true)]
    [InlineData("3.75", "3.75", AnswerType.Decimal, true)]
    [InlineData("3.75", "3.750", AnswerType.Decimal, true)]
    [InlineData("3.75", "15/4", AnswerType.Decimal, true)]
    [InlineData("3.75", "3 + 0.75 = 3.75", AnswerType.Decimal, true)]
    [InlineData("3.75", "3.7", AnswerType.Decimal, false)]
    [InlineData("0.1", "1/10", AnswerType.Decimal, true)]
    [InlineData("3", "3.0", AnswerType.Decimal, true)]
    [InlineData("0.5", "50%", AnswerType.Decimal, true)]
    [InlineData("50", "50%", AnswerType.Integer, true)]
    // hostile numbers
    [InlineData("12", "NaN", AnswerType.Integer, false)]
    [InlineData("309", "1e309", AnswerType.Integer, false)]
    [InlineData("200", "2e2", AnswerType.Integer, true)]
    [InlineData("3", "\u0663", AnswerType.Integer, false)] // Arabic-Indic three is not the number 3
    [InlineData("3", "1/0", AnswerType.Integer, false)]
    public void NumericEquivalence(string gold, string predicted, AnswerType type, bool expected) =>
        Assert.Equal(expected, Verifier.IsEquivalent(gold, predicted, type));

    static readonly string[] Options = ["3", "7", "1/2", "9"];

    [Theory]
    [InlineData("B", "B", true)]
    [InlineData("B", "b", true)]
    [InlineData("B", "(B)", true)]
    [InlineData("B", "b)", true)]
    [InlineData("B", "B.", true)]
    [InlineData("B", "The answer is B", true)]
    [InlineData("B", "The answer is (B) 7", true)]
    [InlineData("B", "\\boxed{B}", true)]
    [InlineData("B", "7", true)]          // the option's text
    [InlineData("B", "x = 7", true)]
    [InlineData("C", "0.5", true)]        // option C's value in another form
    [InlineData("B", "C", false)]
    [InlineData("B", "A or B", false)]    // names two options
    [InlineData("B", "9", false)]
    [InlineData("B", "8", false)]
    [InlineData("B", "", false)]
    [InlineData("B", "a", false)]
    public void MultipleChoice(string gold, string predicted, bool expected) =>
        Assert.Equal(expected, Verifier.IsEquivalent(gold, predicted, AnswerType.MultipleChoice, Options));

    [Fact]
    public void OptionTextNeedsTheOptions() =>
        Assert.False(Verifier.IsEquivalent("B", "7", AnswerType.MultipleChoice));

    [Theory]
    [InlineData("", AnswerType.Integer)]
    [InlineData("abc", AnswerType.Integer)]
    [InlineData("3/4", AnswerType.Integer)]
    [InlineData("1/0", AnswerType.Fraction)]
    [InlineData("1e999", AnswerType.Decimal)]
    [InlineData("E", AnswerType.MultipleChoice)]
    [InlineData("AB", AnswerType.MultipleChoice)]
    public void UnparseableGoldIsADataError(string gold, AnswerType type) =>
        Assert.Throws<InvalidGoldAnswerException>(() => Verifier.IsEquivalent(gold, gold, type, ["1", "2", "3", "4"]));

    [Fact]
    public void GoldLetterBeyondTheOptionsIsADataError() =>
        Assert.Throws<InvalidGoldAnswerException>(() => Verifier.IsEquivalent("D", "D", AnswerType.MultipleChoice, ["1", "2", "3"]));

    [Fact]
    public void OverlongPredictionsAreNotEquivalent() =>
        Assert.False(Verifier.IsEquivalent("5", new string(' ', Verifier.MaxPredictedLength) + "5", AnswerType.Integer));

    [Fact]
    public void RationalsAreCanonical()
    {
        Assert.Equal(new Rational(3, 4), new Rational(-6, -8));
        Assert.Equal("-2/3", new Rational(4, -6).ToString());
        Assert.Equal("0", new Rational(0, -5).ToString());
        Assert.True(new Rational(1, 3).CompareTo(new Rational(1, 2)) < 0);
    }
}
