using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Plotly.NET;

namespace MMEureka.Display;

/// <summary>
/// How a Plotly.NET chart is shown outside .NET Interactive (where Plotly.NET.Interactive does it): a MIME bundle
/// with plotly's own JSON type (drawn natively by VS Code's and JupyterLab's renderers), an HTML div plus a script
/// that draws it (the runner's report; Jupyter front ends without a plotly renderer), and a one-line text.
/// </summary>
public static class ChartView
{
    /// <summary>The plotly.js version loaded from the CDN: the one environment/package.json installs offline.</summary>
    public const string PlotlyJsVersion = "2.35.2";

    /// <summary>The CDN address of plotly.js, without the ".js" suffix (require.js adds it).</summary>
    public const string PlotlyCdn = "https://cdn.plot.ly/plotly-" + PlotlyJsVersion + ".min";

    /// <summary>Plotly's MIME type: a JSON object {"data", "layout", "config"}.</summary>
    public const string PlotlyMime = "application/vnd.plotly.v1+json";

    static int displayed;

    /// <summary>Plotly's figure JSON, {"data": [...], "layout": {...}}, as Plotly.NET writes it.</summary>
    public static string FigureJson(GenericChart chart) => GenericChart.toFigureJson(chart);

    /// <summary>
    /// The bundle a notebook output carries: plotly JSON, HTML (with <paramref name="staticPng"/>, a base64 PNG of
    /// the chart, inside the div until the script draws over it, so that hosts that run no script still show it) and
    /// plain text.
    /// </summary>
    public static IReadOnlyDictionary<string, string> MimeBundle(GenericChart chart, string? staticPng = null)
    {
        var json = FigureJson(chart);
        return new Dictionary<string, string>
        {
            ["text/html"] = Html(json, staticPng),
            [PlotlyMime] = json,
            ["text/plain"] = Describe(json),
        };
    }

    /// <summary>A div plus a script that draws the chart with window.Plotly, else plotly.js from require.js or the CDN.</summary>
    public static string Html(GenericChart chart, string? staticPng = null) => Html(FigureJson(chart), staticPng);

    /// <summary>One line for text-only hosts: title, trace count, and each trace's type and name.</summary>
    public static string Describe(GenericChart chart) => Describe(FigureJson(chart));

    /// <summary>The div and script for plotly figure JSON (e.g. read back from a notebook output).</summary>
    public static string Html(string json, string? staticPng = null)
    {
        // Content hash plus a display counter: deterministic for a given run, unique when a chart is shown twice.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..10];
        var id = $"mmeureka-plot-{hash}-{Interlocked.Increment(ref displayed)}";
        var (width, height) = Size(json);
        var picture = staticPng is null ? "" : $"<img class=\"mmeureka-static\" alt=\"chart\" src=\"data:image/png;base64,{staticPng}\">";
        // "</script" or "<!--" inside the JSON would end or confuse the script element; in JSON, "<" only occurs inside
        // strings, where "\u003c" means the same.
        var safe = json.Replace("<", "\\u003c");
        return $$"""
            <div id="{{id}}" class="mmeureka-plot" style="width:{{width}}px;height:{{height}}px;">{{picture}}</div>
            <script type="text/javascript">
            (function () {
              var id = '{{id}}';
              var figure = {{safe}};
              function draw(Plotly) {
                var still = document.querySelector('#' + id + ' img.mmeureka-static');
                if (still) still.remove();
                Plotly.newPlot(id, figure.data, figure.layout, { responsive: true, displaylogo: false });
              }
              if (window.Plotly) { draw(window.Plotly); return; }
              var url = '{{PlotlyCdn}}';
              if (typeof window.requirejs === 'function') {
                window.requirejs.config({ paths: { plotly: url } });
                window.requirejs(['plotly'], function (Plotly) { draw(Plotly); });
                return;
              }
              if (!window.mmeurekaPlotly) {
                window.mmeurekaPlotly = new Promise(function (resolve, reject) {
                  var script = document.createElement('script');
                  script.src = url + '.js';
                  script.onload = function () { resolve(window.Plotly); };
                  script.onerror = reject;
                  document.head.appendChild(script);
                });
              }
              window.mmeurekaPlotly.then(draw);
            })();
            </script>
            """;
    }

    /// <summary>The layout's width and height in pixels (Plotly.NET always sets them; 600 is its default).</summary>
    public static (int Width, int Height) Size(string figureJson)
    {
        using var doc = JsonDocument.Parse(figureJson);
        int Get(string name) => doc.RootElement.TryGetProperty("layout", out var l) && l.TryGetProperty(name, out var v) && v.TryGetInt32(out var n) ? n : 600;
        return (Get("width"), Get("height"));
    }

    static string Describe(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        string? title = root.TryGetProperty("layout", out var layout) && layout.TryGetProperty("title", out var t) && t.TryGetProperty("text", out var text)
            ? text.GetString() : null;
        var traces = root.TryGetProperty("data", out var data) ? data.EnumerateArray().ToList() : [];
        var kinds = traces.Select(tr =>
        {
            var type = tr.TryGetProperty("type", out var ty) ? ty.GetString() : "trace";
            return tr.TryGetProperty("name", out var n) ? $"{type} '{n.GetString()}'" : type;
        });
        return $"Chart{(title is null ? "" : $" '{title}'")}: {traces.Count} trace(s) [{string.Join(", ", kinds)}]";
    }
}
