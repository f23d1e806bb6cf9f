using System.Collections;
using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using MMEureka.Display;
using Plotly.NET;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// Turns a cell's values into MIME bundles the way .NET Interactive does for the subset the notebooks use:
/// a type carrying an attribute named <c>TypeFormatterSourceAttribute</c> is formatted by the formatters its source
/// creates (matched by name and reflection only, so the library's copy of the attribute needs no shared assembly);
/// <see cref="HtmlString"/> is HTML; a Plotly.NET chart is plotly JSON, HTML and text (what Plotly.NET.Interactive
/// does in .NET Interactive, see <see cref="ChartView"/>); anything else is text/plain.
/// </summary>
public static class Formatting
{
    /// <summary>Bundle keys: HTML first, then plain text.</summary>
    public const string Html = "text/html", Plain = "text/plain";

    static readonly ConcurrentDictionary<Type, IReadOnlyList<object>> FormattersByType = new();

    /// <summary>
    /// Formats a value as a MIME bundle. <paramref name="mimeTypes"/>, when given, restricts the bundle (e.g.
    /// <c>display(x, "text/plain")</c>); a requested type the value cannot produce falls back to plain text.
    /// </summary>
    public static IReadOnlyDictionary<string, string> Format(object? value, params string[] mimeTypes)
    {
        var bundle = new Dictionary<string, string>();
        if (value is HtmlString html) bundle[Html] = html.Content;
        else if (value is GenericChart chart) bundle = new(ChartView.MimeBundle(chart));
        else if (value is not null)
        {
            foreach (var formatter in ConventionFormatters(value.GetType()))
            {
                var mime = formatter.GetType().GetProperty("MimeType")?.GetValue(formatter) as string;
                if (mime is null || bundle.ContainsKey(mime)) continue;
                var format = formatter.GetType().GetMethod("Format", [typeof(object), typeof(TextWriter)]);
                using var writer = new StringWriter(CultureInfo.InvariantCulture);
                if (format?.Invoke(formatter, [value, writer]) is true) bundle[mime] = writer.ToString();
            }
        }
        if (!bundle.ContainsKey(Plain) && value is not HtmlString) bundle[Plain] = PlainText(value);
        if (mimeTypes.Length > 0)
        {
            var chosen = bundle.Where(kv => mimeTypes.Contains(kv.Key)).ToDictionary();
            return chosen.Count > 0 ? chosen : new Dictionary<string, string> { [Plain] = PlainText(value) };
        }
        // HTML first: hosts show the first type they understand.
        return bundle.OrderBy(kv => kv.Key == Html ? 0 : kv.Key == Plain ? 2 : 1).ToDictionary();
    }

    /// <summary>
    /// The formatters .NET Interactive would find: the first attribute named TypeFormatterSourceAttribute on the
    /// type or its base types, its FormatterSourceType constructed, CreateTypeFormatters() called.
    /// </summary>
    static IReadOnlyList<object> ConventionFormatters(Type type) => FormattersByType.GetOrAdd(type, static t =>
    {
        for (var current = t; current is not null; current = current.BaseType)
        {
            var attribute = current.GetCustomAttributes(inherit: false)
                .FirstOrDefault(a => a.GetType().Name == "TypeFormatterSourceAttribute");
            if (attribute?.GetType().GetProperty("FormatterSourceType")?.GetValue(attribute) is not Type sourceType) continue;
            var source = Activator.CreateInstance(sourceType, nonPublic: true);
            var create = sourceType.GetMethod("CreateTypeFormatters", BindingFlags.Public | BindingFlags.Instance, Type.EmptyTypes);
            if (source is null || create?.Invoke(source, null) is not IEnumerable formatters) return [];
            return formatters.Cast<object>().ToArray();
        }
        return [];
    });

    /// <summary>Plain text of a value: null, strings as they are, sequences as [a, b, …], else ToString (invariant).</summary>
    public static string PlainText(object? value) => value switch
    {
        null => "null",
        string s => s,
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IDictionary d => "{" + string.Join(", ", d.Cast<DictionaryEntry>().Take(100).Select(e => $"{PlainText(e.Key)}: {PlainText(e.Value)}")) + (d.Count > 100 ? ", …" : "") + "}",
        IEnumerable e => List(e),
        _ => value.ToString() ?? "",
    };

    static string List(IEnumerable items)
    {
        var shown = items.Cast<object?>().Take(101).Select(PlainText).ToList();
        return "[" + string.Join(", ", shown.Take(100)) + (shown.Count > 100 ? ", …" : "") + "]";
    }
}
