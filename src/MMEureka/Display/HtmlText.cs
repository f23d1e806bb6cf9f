using System.Globalization;
using System.Net;

namespace MMEureka.Display;

/// <summary>Escaping and compact number formatting shared by the HTML views (invariant culture throughout).</summary>
public static class HtmlText
{
    /// <summary>Escapes text for HTML element content and attribute values (&amp; &lt; &gt; &quot; &#39;).</summary>
    public static string Escape(string? text) => WebUtility.HtmlEncode(text ?? "");

    /// <summary>
    /// A short, readable rendering of a number: integers as integers, 4 significant digits for ordinary magnitudes,
    /// scientific notation for very large or very small values; NaN and infinities spelled out.
    /// </summary>
    public static string Number(double x)
    {
        if (double.IsNaN(x)) return "NaN";
        if (double.IsPositiveInfinity(x)) return "inf";
        if (double.IsNegativeInfinity(x)) return "-inf";
        double a = Math.Abs(x);
        var inv = CultureInfo.InvariantCulture;
        if (a >= 1e6 || (a > 0 && a < 1e-3)) return x.ToString("0.###e0", inv);
        if (x == Math.Round(x)) return x.ToString("0", inv);
        if (a >= 1000) return x.ToString("0.#", inv);
        return x.ToString("G4", inv);
    }

    /// <summary>Formats a table cell or label value: numbers compactly, others by invariant ToString (not escaped).</summary>
    public static string Value(object? value) => value switch
    {
        null => "",
        double d => Number(d),
        float f => Number(f),
        decimal m => Number((double)m),
        Half h => Number((double)h),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary>True for the numeric types (right-aligned in tables).</summary>
    internal static bool IsNumeric(object? value) =>
        value is double or float or decimal or Half or int or long or short or byte or sbyte or uint or ulong or ushort;
}
