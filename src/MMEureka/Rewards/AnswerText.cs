using System.Numerics;
using System.Text;
using System.Text.RegularExpressions;

namespace MMEureka.Rewards;

/// <summary>
/// Reads a numeric answer out of free text the way math_verify does for the cases MiniK12 needs: LaTeX-ish cleanup
/// (\boxed, \frac, $, degrees), a whole-string arithmetic expression when there is one, otherwise the last number in
/// the text (with its sign, an optional "/denominator" and an optional percent sign). Only ASCII digits count: other
/// scripts' digits (e.g. Arabic-Indic) are not numbers here, because \d in .NET would accept them.
/// All work is linear in the input, and numbers are capped at <see cref="MaxDigits"/> digits and exponents at
/// <see cref="MaxExponent"/>, so huge or hostile inputs stay cheap.
/// </summary>
internal static class AnswerText
{
    public const int MaxDigits = 60;
    public const int MaxExponent = 60;
    const int MaxExpressionLength = 256;
    const int MaxDepth = 32;

    static readonly Regex Frac = new(@"\\frac\s*\{([^{}]{0,80})\}\s*\{([^{}]{0,80})\}", RegexOptions.CultureInvariant);
    static readonly Regex SimpleNumber = new(@"^[+-]?[0-9]*\.?[0-9]+$", RegexOptions.CultureInvariant);

    public static bool IsDigit(char c) => c is >= '0' and <= '9';

    /// <summary>Strips the LaTeX and typography that do not change an answer's value.</summary>
    public static string Clean(string text)
    {
        var s = LastBoxed(text) ?? text;
        var sb = new StringBuilder(s)
            .Replace('\u2212', '-').Replace("\\dfrac", "\\frac").Replace("\\tfrac", "\\frac")
            .Replace("\\left", "").Replace("\\right", "").Replace("\\%", "%").Replace("$", "")
            .Replace("^{\\circ}", "").Replace("^\\circ", "").Replace("\\circ", "").Replace("\u00b0", "")
            .Replace("\\cdot", "*").Replace("\\times", "*").Replace("\u00d7", "*")
            .Replace("\\text", "").Replace("\\mathrm", "").Replace("\\,", " ").Replace("\\;", " ").Replace("\\!", "");
        s = sb.ToString();
        // \frac{a}{b}: plain numbers become a/b so the last-number fallback reads the fraction, not just b.
        for (int guard = 0; guard < 8 && s.Contains("\\frac"); guard++)
        {
            var next = Frac.Replace(s, m =>
            {
                string a = m.Groups[1].Value.Trim(), b = m.Groups[2].Value.Trim();
                return SimpleNumber.IsMatch(a) && SimpleNumber.IsMatch(b) ? $"{a}/{b}" : $"({a})/({b})";
            });
            if (next == s) break;
            s = next;
        }
        return s.Replace("{", "").Replace("}", "").Trim();
    }

    /// <summary>The content of the last \boxed{…} (balanced braces; the rest of the text if never closed).</summary>
    static string? LastBoxed(string text)
    {
        int start = text.LastIndexOf("\\boxed{", StringComparison.Ordinal);
        if (start < 0) return null;
        int i = start + 7, depth = 1;
        for (int j = i; j < text.Length; j++)
        {
            if (text[j] == '{') depth++;
            else if (text[j] == '}' && --depth == 0) return text[i..j];
        }
        return text[i..];
    }

    /// <summary>
    /// Reads an unsigned decimal number (digits, optional fraction part, optional exponent) at <paramref name="pos"/>.
    /// Returns false and leaves pos unchanged when no number starts there; otherwise advances past it and sets
    /// <paramref name="valid"/> false when it exceeds the digit or exponent caps.
    /// </summary>
    public static bool TryReadUnsigned(ReadOnlySpan<char> s, ref int pos, out Rational value, out bool valid)
    {
        value = default;
        valid = true;
        int p = pos;
        bool leadingDot = p < s.Length && s[p] == '.' && p + 1 < s.Length && IsDigit(s[p + 1]);
        if (p >= s.Length || !(IsDigit(s[p]) || leadingDot)) return false;
        int intStart = p;
        while (p < s.Length && IsDigit(s[p])) p++;
        int intEnd = p, fracStart = p, fracEnd = p;
        if (p + 1 < s.Length && s[p] == '.' && IsDigit(s[p + 1]))
        {
            fracStart = ++p;
            while (p < s.Length && IsDigit(s[p])) p++;
            fracEnd = p;
        }
        int exponent = 0;
        if (p < s.Length && s[p] is 'e' or 'E')
        {
            int q = p + 1, sign = 1;
            if (q < s.Length && s[q] is '+' or '-') { sign = s[q] == '-' ? -1 : 1; q++; }
            if (q < s.Length && IsDigit(s[q]))
            {
                int expStart = q;
                while (q < s.Length && IsDigit(s[q])) q++;
                if (q - expStart > 3) valid = false;
                else exponent = sign * int.Parse(s[expStart..q]);
                p = q;
            }
        }
        pos = p;
        int digits = (intEnd - intStart) + (fracEnd - fracStart);
        if (digits > MaxDigits || Math.Abs(exponent) > MaxExponent) valid = false;
        if (!valid) return true;
        var mantissa = BigInteger.Parse(string.Concat(s[intStart..intEnd], s[fracStart..fracEnd]));
        value = new Rational(mantissa, 1) * Rational.Pow10(exponent - (fracEnd - fracStart));
        return true;
    }

    /// <summary>
    /// Strict parse of a whole string as a number: optional sign, number, optional "/ number", optional "%".
    /// Used for gold answers and option texts, where anything else is a data error.
    /// </summary>
    public static bool TryParseStrict(string text, out Rational value)
    {
        value = default;
        var s = text.Trim().Replace('\u2212', '-').AsSpan();
        if (s.Length == 0 || s.Length > 200) return false;
        int pos = 0;
        bool negative = false;
        if (s[0] is '+' or '-') { negative = s[0] == '-'; pos++; }
        if (!TryReadUnsigned(s, ref pos, out var num, out var valid) || !valid) return false;
        SkipSpaces(s, ref pos);
        if (pos < s.Length && s[pos] == '/')
        {
            pos++;
            SkipSpaces(s, ref pos);
            if (!TryReadUnsigned(s, ref pos, out var den, out valid) || !valid || den.Numerator.IsZero) return false;
            num /= den;
            SkipSpaces(s, ref pos);
        }
        if (pos < s.Length && s[pos] == '%') { num /= 100; pos++; }
        if (pos != s.Length) return false;
        value = negative ? -num : num;
        return true;
    }

    /// <summary>
    /// The values a predicted answer may mean: the value of the whole text as an arithmetic expression if it is one,
    /// else the last number in it. A trailing percent sign yields both readings (75% as 0.75 and as 75).
    /// Empty when no number can be read.
    /// </summary>
    public static List<Rational> Candidates(string predicted)
    {
        var result = new List<Rational>(2);
        var s = Clean(predicted);
        bool percent = false;
        var body = s.TrimEnd('.', ' ');
        if (body.EndsWith('%')) { percent = true; body = body[..^1]; }
        if (body.Length <= MaxExpressionLength && TryEvaluate(body, out var v)) { Add(result, v, percent); return result; }
        if (TryLastNumber(s, out v, out percent)) Add(result, v, percent);
        return result;
    }

    static void Add(List<Rational> result, Rational v, bool percent)
    {
        if (percent) result.Add(v / 100);
        result.Add(v);
    }

    static void SkipSpaces(ReadOnlySpan<char> s, ref int pos)
    {
        while (pos < s.Length && s[pos] == ' ') pos++;
    }

    /// <summary>The last number in the text with its sign (a '-' is a sign unless a digit or ')' precedes it).</summary>
    static bool TryLastNumber(string s, out Rational value, out bool percent)
    {
        value = default;
        percent = false;
        bool found = false;
        var span = s.AsSpan();
        for (int i = 0; i < span.Length;)
        {
            int start = i;
            if (!TryReadUnsigned(span, ref i, out var num, out var valid)) { i++; continue; }
            // "3/4" and "3 / 4" are one token; a digit run glued to letters ("x2") still counts as a number.
            int j = i;
            SkipSpaces(span, ref j);
            if (j < span.Length && span[j] == '/')
            {
                int k = j + 1;
                SkipSpaces(span, ref k);
                if (TryReadUnsigned(span, ref k, out var den, out var denValid))
                {
                    if (denValid && valid && !den.Numerator.IsZero) num /= den;
                    else valid = valid && denValid && !den.Numerator.IsZero;
                    i = k;
                }
            }
            int after = i;
            SkipSpaces(span, ref after);
            bool pct = after < span.Length && span[after] == '%';
            if (!valid) { found = false; continue; } // an oversized last number means "no readable answer"
            value = IsNegated(span, start) ? -num : num;
            percent = pct;
            found = true;
        }
        return found;
    }

    static bool IsNegated(ReadOnlySpan<char> s, int start)
    {
        int p = start - 1;
        while (p >= 0 && s[p] == ' ') p--;
        if (p < 0 || s[p] != '-') return false;
        p--;
        while (p >= 0 && s[p] == ' ') p--;
        return p < 0 || !(IsDigit(s[p]) || s[p] == ')');
    }

    /// <summary>Evaluates the whole string as + - * / ( ) over exact rationals ('x' also multiplies); false otherwise.</summary>
    public static bool TryEvaluate(string s, out Rational value)
    {
        int pos = 0;
        value = default;
        try
        {
            if (!TryExpr(s, ref pos, 0, out value)) return false;
            SkipSpaces(s, ref pos);
            return pos == s.Length;
        }
        catch (DivideByZeroException) { return false; }
    }

    static bool TryExpr(string s, ref int pos, int depth, out Rational value)
    {
        if (!TryTerm(s, ref pos, depth, out value)) return false;
        while (true)
        {
            SkipSpaces(s, ref pos);
            if (pos >= s.Length || s[pos] is not ('+' or '-')) return true;
            char op = s[pos++];
            if (!TryTerm(s, ref pos, depth, out var rhs)) return false;
            value = op == '+' ? value + rhs : value - rhs;
        }
    }

    static bool TryTerm(string s, ref int pos, int depth, out Rational value)
    {
        if (!TryFactor(s, ref pos, depth, out value)) return false;
        while (true)
        {
            SkipSpaces(s, ref pos);
            if (pos >= s.Length || s[pos] is not ('*' or '/' or 'x')) return true;
            char op = s[pos++];
            if (!TryFactor(s, ref pos, depth, out var rhs)) return false;
            value = op == '/' ? value / rhs : value * rhs;
        }
    }

    static bool TryFactor(string s, ref int pos, int depth, out Rational value)
    {
        value = default;
        if (depth > MaxDepth) return false;
        SkipSpaces(s, ref pos);
        if (pos >= s.Length) return false;
        if (s[pos] is '+' or '-')
        {
            bool neg = s[pos++] == '-';
            if (!TryFactor(s, ref pos, depth + 1, out value)) return false;
            if (neg) value = -value;
            return true;
        }
        if (s[pos] == '(')
        {
            pos++;
            if (!TryExpr(s, ref pos, depth + 1, out value)) return false;
            SkipSpaces(s, ref pos);
            if (pos >= s.Length || s[pos] != ')') return false;
            pos++;
            return true;
        }
        return TryReadUnsigned(s, ref pos, out value, out var valid) && valid;
    }
}
