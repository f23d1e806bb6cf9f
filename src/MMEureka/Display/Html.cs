namespace MMEureka.Display;

/// <summary>A raw HTML fragment shown as-is (the value behind a notebook's <c>HTML("…")</c>); the caller trusts it.</summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed class Html(string fragment) : IHtmlView
{
    /// <summary>The fragment.</summary>
    public string Fragment { get; } = fragment ?? "";

    /// <inheritdoc/>
    public string ToHtml() => Fragment;

    /// <summary>The fragment itself (what a text-only host shows).</summary>
    public override string ToString() => Fragment;
}
