namespace MMEureka.Cli.Notebooks;

/// <summary>HTML the notebook asked to show as-is (what <c>HTML("…")</c> returns, like .NET Interactive's IHtmlContent).</summary>
public sealed class HtmlString(string content)
{
    /// <summary>The HTML.</summary>
    public string Content { get; } = content ?? "";

    /// <summary>The HTML itself.</summary>
    public override string ToString() => Content;
}

/// <summary>
/// The globals a notebook's C# code sees: the helpers .NET Interactive's C# kernel brings in with
/// <c>using static Microsoft.DotNet.Interactive.Kernel</c>, with the same names and shapes, so cells run unchanged
/// in both hosts. Public because Roslyn compiles the cells against it.
/// </summary>
public sealed class ScriptGlobals
{
    /// <summary>Where outputs of the calling thread's cell go (the session tracks it per cell).</summary>
    internal CellOutputs? Outputs => CellSession.Outputs;

    /// <summary>Shows a value now (display_data), formatted as HTML when its type has a formatter; optionally only the given MIME types.</summary>
    public void display(object? value, params string[] mimeTypes) => Outputs?.Data(Formatting.Format(value, mimeTypes));

    /// <summary>Wraps a string so that it is shown as HTML (display it, or make it the cell's last expression).</summary>
    public HtmlString HTML(string content) => new(content);

    /// <summary>Adds a style sheet to the page now.</summary>
    public void CSS(string content) => display(new HtmlString($"<style>{content}</style>"));

    /// <summary>Runs JavaScript in the page now.</summary>
    public void Javascript(string scriptContent) =>
        display(new HtmlString($"<script type=\"text/javascript\">{scriptContent}</script>"));
}
