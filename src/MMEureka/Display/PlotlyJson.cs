using System.Text.Json;

namespace MMEureka.Display;

/// <summary>
/// Small helpers for writing plotly's JSON: numbers that are not finite become null (JSON has no NaN, and plotly
/// treats null as a gap), and text is entity-escaped so that plotly shows it literally instead of reading its
/// HTML-like markup (the model's special tokens such as &lt;think&gt; must stay visible).
/// </summary>
internal static class PlotlyJson
{
    public static void Number(Utf8JsonWriter w, double x)
    {
        if (double.IsFinite(x)) w.WriteNumberValue(x);
        else w.WriteNullValue();
    }

    public static void Numbers(Utf8JsonWriter w, string name, IEnumerable<double> xs)
    {
        w.WriteStartArray(name);
        foreach (var x in xs) Number(w, x);
        w.WriteEndArray();
    }

    /// <summary>Plotly decodes &amp;amp; &amp;lt; &amp;gt; in its text, so encoding them keeps the text literal.</summary>
    public static string Text(string text) => text.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");

    public static void Text(Utf8JsonWriter w, string name, string text) => w.WriteString(name, Text(text));

    public static void Texts(Utf8JsonWriter w, string name, IEnumerable<string> texts)
    {
        w.WriteStartArray(name);
        foreach (var t in texts) w.WriteStringValue(Text(t));
        w.WriteEndArray();
    }

    /// <summary>{"text": …} as plotly wants titles.</summary>
    public static void Title(Utf8JsonWriter w, string? title)
    {
        if (title is null) return;
        w.WriteStartObject("title");
        Text(w, "text", title);
        w.WriteEndObject();
    }

    /// <summary>Plotly's axis reference: "x" for the first axis, "x2", "x3" … after.</summary>
    public static string AxisRef(char letter, int index) => index <= 1 ? letter.ToString() : $"{letter}{index}";
}
