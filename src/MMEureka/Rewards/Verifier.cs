namespace MMEureka.Rewards;

/// <summary>A gold answer that cannot be parsed for its type: a data error, never a free reward.</summary>
public sealed class InvalidGoldAnswerException(string message) : FormatException(message);

/// <summary>
/// math_verify-style answer equivalence for MiniK12 (MM-Eureka's accuracy reward, PAPERS.md section 1).
/// Numbers are compared as exact rationals: "3/4", "0.75", ".75", "\frac{3}{4}", "\boxed{0.75}", "75%" and
/// "x = 3/4 cm" are all 3/4. Multiple choice compares letters ("B", "(B)", "b)", "The answer is B") and, when the
/// options are known and the text names no letter, the option value ("7" when option B is 7).
/// </summary>
public static class Verifier
{
    /// <summary>Predictions longer than this are not equivalent to anything (bounds the work per call).</summary>
    public const int MaxPredictedLength = 10_000;

    /// <summary>
    /// True when <paramref name="predicted"/> means the same answer as <paramref name="gold"/>. Throws
    /// <see cref="InvalidGoldAnswerException"/> when the gold answer (or an option text) cannot be parsed.
    /// </summary>
    public static bool IsEquivalent(string gold, string predicted, AnswerType type, IReadOnlyList<string>? choices = null)
    {
        ArgumentNullException.ThrowIfNull(gold);
        if (type == AnswerType.MultipleChoice)
        {
            int goldIndex = ParseGoldLetter(gold, choices);
            if (predicted is null || predicted.Length > MaxPredictedLength) return false;
            return ChoiceIndex(predicted, choices) == goldIndex;
        }
        var goldValue = ParseGold(gold, type);
        if (predicted is null || predicted.Length > MaxPredictedLength) return false;
        return AnswerText.Candidates(predicted).Contains(goldValue);
    }

    /// <summary>Parses a numeric gold answer for its type; throws <see cref="InvalidGoldAnswerException"/> otherwise.</summary>
    public static Rational ParseGold(string gold, AnswerType type)
    {
        if (type == AnswerType.MultipleChoice)
            throw new InvalidGoldAnswerException($"gold answer '{gold}' is multiple choice, not a number");
        if (!AnswerText.TryParseStrict(gold, out var value))
            throw new InvalidGoldAnswerException($"gold answer '{Shorten(gold)}' is not a valid {type.ToName()}");
        if (type == AnswerType.Integer && !value.IsInteger)
            throw new InvalidGoldAnswerException($"gold answer '{gold}' is not an integer");
        return value;
    }

    /// <summary>True when the gold answer parses for its type (and, for multiple choice, names one of the options).</summary>
    public static bool IsValidGold(string gold, AnswerType type, IReadOnlyList<string>? choices = null)
    {
        try
        {
            if (type == AnswerType.MultipleChoice) ParseGoldLetter(gold, choices);
            else ParseGold(gold, type);
            return true;
        }
        catch (InvalidGoldAnswerException) { return false; }
    }

    static int ParseGoldLetter(string gold, IReadOnlyList<string>? choices)
    {
        var g = gold.Trim().Trim('(', ')');
        if (g.Length != 1 || char.ToUpperInvariant(g[0]) is < 'A' or > 'D')
            throw new InvalidGoldAnswerException($"gold answer '{Shorten(gold)}' is not a letter A-D");
        int index = char.ToUpperInvariant(g[0]) - 'A';
        if (choices is not null && index >= choices.Count)
            throw new InvalidGoldAnswerException($"gold answer '{gold}' names option {index + 1} of {choices.Count}");
        return index;
    }

    /// <summary>
    /// The option a response picks (0 = A), or -1 when it names none or several. A bare letter, "(B)", "b)",
    /// or exactly one distinct standalone capital A-D in the text; failing that, the one option whose value the
    /// text's answer equals.
    /// </summary>
    public static int ChoiceIndex(string predicted, IReadOnlyList<string>? choices = null)
    {
        if (predicted.Length > MaxPredictedLength) return -1;
        var s = AnswerText.Clean(predicted);
        var bare = s.Trim(' ', '\n', '\t', '(', ')', '[', ']', '.', ':', '*');
        if (bare.Length == 1 && char.ToUpperInvariant(bare[0]) is >= 'A' and <= 'D') return char.ToUpperInvariant(bare[0]) - 'A';

        int capital = -1, parenthesised = -1;
        bool capitalAmbiguous = false, parenAmbiguous = false;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            char upper = char.ToUpperInvariant(c);
            if (upper is < 'A' or > 'D') continue;
            bool before = i == 0 || !char.IsAsciiLetter(s[i - 1]);
            bool after = i + 1 == s.Length || !char.IsAsciiLetter(s[i + 1]);
            if (!before || !after) continue;
            int index = upper - 'A';
            // "b)" and "(b)" name an option; a lone lowercase "a" is usually the article, so it needs the bracket.
            if (i + 1 < s.Length && s[i + 1] == ')')
            {
                if (parenthesised >= 0 && parenthesised != index) parenAmbiguous = true;
                parenthesised = index;
            }
            if (c == upper)
            {
                if (capital >= 0 && capital != index) capitalAmbiguous = true;
                capital = index;
            }
        }
        if (parenthesised >= 0 && !parenAmbiguous) return parenthesised;
        if (capital >= 0 && !capitalAmbiguous) return capital;
        if (capital >= 0 || parenthesised >= 0 || choices is null) return -1;

        var candidates = AnswerText.Candidates(s);
        int match = -1;
        for (int k = 0; k < choices.Count; k++)
        {
            bool equal = AnswerText.TryParseStrict(choices[k], out var optionValue)
                ? candidates.Contains(optionValue)
                : string.Equals(choices[k].Trim(), s.Trim(), StringComparison.OrdinalIgnoreCase);
            if (!equal) continue;
            if (match >= 0) return -1;
            match = k;
        }
        return match;
    }

    static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
