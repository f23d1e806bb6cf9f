namespace MMEureka.Display;

/// <summary>
/// Anything a notebook can show as HTML: charts, image grids, tables, galleries. Concrete types carry
/// <c>[TypeFormatterSource(typeof(HtmlFormatterSource))]</c> so that .NET Interactive and the project's runner both
/// render them through the same convention.
/// </summary>
public interface IHtmlView
{
    /// <summary>A self-contained HTML fragment (no &lt;html&gt; wrapper).</summary>
    string ToHtml();
}

/// <summary>
/// .NET Interactive's convention-based formatter hook, matched by type name so that no package reference is needed.
/// The runner in MMEureka.Cli honours the same convention.
/// </summary>
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Struct, Inherited = false)]
internal sealed class TypeFormatterSourceAttribute(Type formatterSourceType) : Attribute
{
    /// <summary>A type with a public parameterless constructor and <c>CreateTypeFormatters()</c>.</summary>
    public Type FormatterSourceType { get; } = formatterSourceType;

    /// <summary>The MIME types a host should prefer for this type.</summary>
    public string[]? PreferredMimeTypes { get; set; } = ["text/html"];
}

/// <summary>Creates the formatters for every <see cref="IHtmlView"/>; found by reflection (members must be public).</summary>
internal sealed class HtmlFormatterSource
{
    /// <summary>The formatters, one per MIME type.</summary>
    public IEnumerable<object> CreateTypeFormatters() => [new HtmlViewFormatter("text/html"), new HtmlViewFormatter("text/plain")];
}

/// <summary>One MIME type's formatter for <see cref="IHtmlView"/> values.</summary>
internal sealed class HtmlViewFormatter(string mimeType)
{
    /// <summary>The MIME type written.</summary>
    public string MimeType { get; } = mimeType;

    /// <summary>The type formatted.</summary>
    public Type Type => typeof(IHtmlView);

    /// <summary>Writes the view; false when the instance is not an <see cref="IHtmlView"/>.</summary>
    public bool Format(object instance, TextWriter writer)
    {
        if (instance is not IHtmlView view) return false;
        writer.Write(MimeType == "text/html" ? view.ToHtml() : instance.ToString());
        return true;
    }
}
