using System.Diagnostics;
using System.Text.Json.Nodes;
using MMEureka.Display;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// Static pictures of a notebook's charts, for hosts that run no script (GitHub's notebook view, an untrusted
/// notebook in JupyterLab): each plotly output is drawn by plotly.js in headless Chromium and screenshotted, and the
/// PNG joins its bundle as image/png and inside the HTML div (which the script replaces by the live chart).
/// Needs Chromium and the offline plotly.js (environment/setup.sh installs both); nothing is downloaded.
/// </summary>
public sealed class ChartPictures(string chromium, string plotlyScript)
{
    /// <summary>Longest one screenshot may take before the chart is left without a picture.</summary>
    public static readonly TimeSpan RenderTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The Chromium executable used.</summary>
    public string Chromium { get; } = chromium;

    /// <summary>Chromium on PATH and the offline plotly.js above <paramref name="folder"/>; null (and why) when either is missing.</summary>
    public static ChartPictures? Find(string folder, out string? missing)
    {
        var browser = new[] { "chromium", "chromium-browser", "google-chrome" }.Select(OnPath).FirstOrDefault(p => p is not null);
        var plotly = HtmlReport.FindOfflinePlotly(folder);
        missing = (browser, plotly) switch
        {
            (null, null) => "Chromium and the offline plotly.js",
            (null, _) => "Chromium",
            (_, null) => "the offline plotly.js",
            _ => null,
        };
        return missing is null ? new ChartPictures(browser!, plotly!) : null;
    }

    static string? OnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);

    /// <summary>Adds a picture to every chart output of <paramref name="doc"/>; returns how many charts got one.</summary>
    public int AddTo(NotebookDocument doc, TerminalProgress progress)
    {
        int added = 0, failed = 0;
        foreach (var cell in doc.Cells)
            foreach (var output in cell.Outputs)
            {
                if (output["data"] is not JsonObject data || data[ChartView.PlotlyMime] is not JsonObject figure) continue;
                var json = figure.ToJsonString();
                var png = Render(json, out var why);
                if (png is null) { failed++; progress.Line($"  no picture for a chart of cell {cell.Number}: {why}"); continue; }
                var base64 = Convert.ToBase64String(png);
                data["text/html"] = NotebookDocument.Lines(ChartView.Html(json, base64));
                data["image/png"] = base64;
                added++;
            }
        if (added + failed > 0) progress.Line($"  chart pictures: {added} drawn by {Path.GetFileName(Chromium)}" + (failed > 0 ? $", {failed} failed" : ""));
        return added;
    }

    /// <summary>The chart drawn at its layout size, as PNG bytes; null (and why) when Chromium fails.</summary>
    public byte[]? Render(string figureJson, out string? why)
    {
        var (width, height) = ChartView.Size(figureJson);
        var dir = Directory.CreateTempSubdirectory("mmeureka-chart-");
        try
        {
            var page = Path.Combine(dir.FullName, "chart.html");
            var shot = Path.Combine(dir.FullName, "chart.png");
            // staticPlot: no mode bar or hover layer in the picture.
            File.WriteAllText(page, $$"""
                <!DOCTYPE html><html><head><meta charset="utf-8"><style>html, body { margin: 0; background: white; }</style>
                <script>{{File.ReadAllText(plotlyScript).Replace("</script", "<\\/script")}}</script></head>
                <body><div id="chart" style="width:{{width}}px;height:{{height}}px"></div><script>
                var figure = {{figureJson.Replace("<", "\\u003c")}};
                Plotly.newPlot('chart', figure.data, figure.layout, { staticPlot: true });
                </script></body></html>
                """);
            var psi = new ProcessStartInfo(Chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[]
                     {
                         "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--hide-scrollbars", $"--user-data-dir={Path.Combine(dir.FullName, "profile")}",
                         $"--window-size={width},{height}", "--virtual-time-budget=10000", $"--screenshot={shot}", new Uri(page).AbsoluteUri,
                     })
                psi.ArgumentList.Add(arg);
            using var process = Process.Start(psi)!;
            var stderr = process.StandardError.ReadToEndAsync();
            _ = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(RenderTimeout))
            {
                process.Kill(entireProcessTree: true);
                why = $"Chromium took longer than {RenderTimeout.TotalSeconds:0} s";
                return null;
            }
            if (!File.Exists(shot))
            {
                why = $"Chromium exited with {process.ExitCode} and no screenshot: {stderr.Result.Split('\n').LastOrDefault(l => l.Trim().Length > 0)}";
                return null;
            }
            why = null;
            return File.ReadAllBytes(shot);
        }
        finally
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
