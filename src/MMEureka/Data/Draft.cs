using System.Numerics;
using MMEureka.Display;
using MMEureka.Rewards;

namespace MMEureka.Data;

/// <summary>
/// What a family draws before the generator turns it into a <see cref="Problem"/>: the open question, the exact
/// answer value, the steps, the image, the values of the parameter that defines the OOD shift, the question variant (questions of
/// one variant share an answer distribution) and how to fill options when redraws give too few distinct values
/// (values spaced <see cref="ChoiceStep"/> apart within [<see cref="ChoiceMin"/>, <see cref="ChoiceMax"/>]).
/// </summary>
public sealed record Draft(
    string Question,
    Rational Value,
    AnswerType Type,
    string[] Steps,
    RasterImage Image,
    int[] RangeValues,
    Rational ChoiceStep,
    Rational? ChoiceMin = null,
    Rational? ChoiceMax = null,
    string Variant = "")
{
    /// <summary>The answer written the way the dataset stores it.</summary>
    public string AnswerText => Format(Value, Type);

    /// <summary>Integers and fractions as "n" or "p/q"; decimals as a terminating decimal ("3.75").</summary>
    public static string Format(Rational value, AnswerType type)
    {
        if (type != AnswerType.Decimal || value.IsInteger) return value.ToString();
        var num = BigInteger.Abs(value.Numerator);
        int places = 0;
        while (num % value.Denominator != 0)
        {
            if (++places > 12) throw new ArgumentException($"{value} has no short terminating decimal");
            num *= 10;
        }
        var digits = (num / value.Denominator).ToString().PadLeft(places + 1, '0');
        return (value.Numerator.Sign < 0 ? "-" : "") + digits[..^places] + "." + digits[^places..];
    }

    /// <summary>
    /// The four option values, ascending. Distractors are the answers of fresh draws of the same family and question
    /// variant (<paramref name="redraw"/>), so the correct value and the distractors come from one distribution and
    /// neither the option values nor the letter tell a text-only reader which is right. When the family has too few
    /// distinct answers (e.g. OOD counts 7-9), the nearest free values spaced <see cref="ChoiceStep"/> apart fill in.
    /// </summary>
    public Rational[] ChoiceValues(Rng rng, Func<Rng, Draft> redraw)
    {
        var values = new List<Rational>(4) { Value };
        for (int attempt = 0; attempt < 64 && values.Count < 4; attempt++)
        {
            var other = redraw(rng);
            if (other.Variant == Variant && !values.Contains(other.Value)) values.Add(other.Value);
        }
        for (int k = 1; values.Count < 4 && k < 100; k++)
            foreach (var candidate in rng.Next(2) == 0 ? new[] { Value + ChoiceStep * k, Value - ChoiceStep * k } : [Value - ChoiceStep * k, Value + ChoiceStep * k])
            {
                bool inRange = (ChoiceMin is not { } min || candidate.CompareTo(min) >= 0) && (ChoiceMax is not { } max || candidate.CompareTo(max) <= 0);
                if (values.Count < 4 && inRange && !values.Contains(candidate)) values.Add(candidate);
            }
        if (values.Count < 4) throw new InvalidOperationException($"no room for four options around {Value} (step {ChoiceStep})");
        values.Sort();
        return values.ToArray();
    }

}

/// <summary>
/// One problem family: its name, subject, school level, the range of its shift parameter in train/test and in OOD
/// (disjoint), and the function that draws a problem.
/// </summary>
public sealed record FamilyInfo(
    string Name,
    string Subject,
    string Level,
    string RangeMeaning,
    (int Min, int Max) TrainRange,
    (int Min, int Max) OodRange,
    Func<Rng, bool, Draft> Generate);
