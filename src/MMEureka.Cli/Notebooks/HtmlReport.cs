using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Markdig;
using MMEureka.Display;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// A standalone HTML page of an executed notebook: markdown rendered with Markdig, code shown escaped with its
/// outputs inline (HTML outputs as they are, text escaped), plotly.js loaded once in the head (inlined from an
/// offline copy when there is one, else from the CDN) so that every chart's script finds <c>window.Plotly</c>.
/// </summary>
public static class HtmlReport
{
    /// <summary>Where npm puts the offline plotly.js, relative to the repository root.</summary>
    public const string OfflinePlotly = "environment/node_modules/plotly.js-dist-min/plotly.min.js";

    static readonly MarkdownPipeline Markdown = new MarkdownPipelineBuilder().UseAdvancedExtensions().Build();

    /// <summary>The offline plotly.js of the repository that contains <paramref name="folder"/>, found by walking up; null if none.</summary>
    public static string? FindOfflinePlotly(string folder)
    {
        for (var dir = new DirectoryInfo(folder); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, OfflinePlotly);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>The script element that loads plotly.js: <paramref name="plotlyScript"/> inlined when it exists, else the CDN.</summary>
    public static string PlotlyHead(string? plotlyScript) =>
        plotlyScript is not null && File.Exists(plotlyScript)
            // A literal "</script" inside the inlined file would end the element early.
            ? "<script type=\"text/javascript\">" + File.ReadAllText(plotlyScript).Replace("</script", "<\\/script") + "</script>\n"
            : $"<script type=\"text/javascript\" src=\"{ChartView.PlotlyCdn}.js\"></script>\n";

    /// <summary>Renders the page; <paramref name="plotlyScript"/> is an offline plotly.min.js to inline, or null for the CDN.</summary>
    public static string Render(NotebookDocument doc, string? plotlyScript)
    {
        var title = Path.GetFileNameWithoutExtension(doc.Path);
        var body = new StringBuilder();
        bool needsPlotly = false;
        foreach (var cell in doc.Cells)
        {
            switch (cell.Type)
            {
                case "markdown":
                    body.Append("<section class=\"markdown\">").Append(Markdig.Markdown.ToHtml(cell.Source, Markdown)).Append("</section>\n");
                    break;
                case "raw":
                    body.Append("<pre class=\"raw\">").Append(Escape(cell.Source)).Append("</pre>\n");
                    break;
                default:
                    var count = cell.ExecutionCount is int n ? n.ToString() : " ";
                    body.Append($"<section class=\"code\"><div class=\"prompt\">[{count}]</div><pre class=\"source\">")
                        .Append(Escape(cell.Source)).Append("</pre>\n");
                    foreach (var output in cell.Outputs) body.Append(RenderOutput(output, ref needsPlotly));
                    body.Append("</section>\n");
                    break;
            }
        }

        var head = needsPlotly ? PlotlyHead(plotlyScript) : "";
        return $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>{{Escape(title)}}</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
            section { margin: 1em 0; }
            .code { border-left: 3px solid #4a7bd0; padding-left: .8em; }
            .prompt { color: #888; font-family: monospace; font-size: 12px; }
            pre { background: #f6f8fa; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
            pre.source { background: #eef2f8; }
            pre.stderr { background: #fff6e5; }
            pre.error { background: #fde8e8; color: #900; }
            .output { margin: .4em 0; overflow-x: auto; }
            </style>
            {{head}}</head>
            <body>
            <h1 class="notebook-title">{{Escape(title)}}</h1>
            {{body}}</body>
            </html>

            """;
    }

    static string RenderOutput(JsonObject output, ref bool needsPlotly)
    {
        string Text(JsonNode? node) => node switch
        {
            JsonArray lines => string.Concat(lines.Select(l => l?.GetValue<string>())),
            JsonValue v => v.GetValue<string>(),
            _ => "",
        };
        switch (output["output_type"]?.GetValue<string>())
        {
            case "stream":
                var name = output["name"]?.GetValue<string>() ?? "stdout";
                return $"<pre class=\"{(name == "stderr" ? "stderr" : "stdout")}\">{Escape(Text(output["text"]))}</pre>\n";
            case "error":
                var trace = string.Join('\n', (output["traceback"] as JsonArray ?? []).Select(l => l?.GetValue<string>()));
                return $"<pre class=\"error\">{Escape(trace.Length > 0 ? trace : $"{Text(output["ename"])}: {Text(output["evalue"])}")}</pre>\n";
            case "display_data" or "execute_result":
                var data = output["data"] as JsonObject ?? [];
                if (data["text/html"] is { } html)
                {
                    var content = Text(html);
                    if (content.Contains("Plotly", StringComparison.Ordinal)) needsPlotly = true;
                    return $"<div class=\"output\">{content}</div>\n";
                }
                if (data["image/png"] is { } png)
                    return $"<div class=\"output\"><img src=\"data:image/png;base64,{Escape(Text(png).Trim())}\"></div>\n";
                return $"<pre class=\"output\">{Escape(Text(data["text/plain"]))}</pre>\n";
            default:
                return "";
        }
    }

    static string Escape(string text) => WebUtility.HtmlEncode(text);
}
