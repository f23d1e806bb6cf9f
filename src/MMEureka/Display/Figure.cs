using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MMEureka.Display;

/// <summary>
/// A plotly.js figure: traces plus a layout. Immutable: the fluent <c>With…</c> methods return a new figure.
/// <see cref="ToJson"/> gives plotly's {"data": […], "layout": {…}}; <see cref="ToHtml"/> a div and a script that
/// draws it, loading plotly.js when the page does not have it yet.
/// </summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed record Figure(IReadOnlyList<Trace> Traces, Layout Layout) : IHtmlView
{
    /// <summary>The plotly.js version loaded from the CDN (the same version environment/package.json pins offline).</summary>
    public const string PlotlyVersion = "2.35.2";

    /// <summary>The CDN address of plotly.js, without the ".js" suffix (require.js adds it).</summary>
    public const string PlotlyCdn = "https://cdn.plot.ly/plotly-" + PlotlyVersion + ".min";

    static int displayed;

    /// <summary>A figure with the given traces and a default layout.</summary>
    public Figure(params Trace[] traces) : this(traces, new Layout()) { }

    /// <summary>Sets the figure title.</summary>
    public Figure WithTitle(string title) => this with { Layout = Layout with { Title = title } };

    /// <summary>Sets every x axis's title and scale (a grid's cells share them; set per cell before gridding to differ).</summary>
    public Figure WithXAxis(string? title, bool log = false) =>
        this with { Layout = Layout with { XAxes = Layout.XAxes.Select(a => a with { Title = title, Log = log }).ToArray() } };

    /// <summary>Sets every y axis's title and scale.</summary>
    public Figure WithYAxis(string? title, bool log = false) =>
        this with { Layout = Layout with { YAxes = Layout.YAxes.Select(a => a with { Title = title, Log = log }).ToArray() } };

    /// <summary>Shows or hides the legend.</summary>
    public Figure WithLegend(bool show = true) => this with { Layout = Layout with { ShowLegend = show } };

    /// <summary>Sets the height (and optionally width) in pixels.</summary>
    public Figure WithSize(int height, int? width = null)
    {
        if (height <= 0 || width is <= 0) throw new ArgumentOutOfRangeException(nameof(height), "figure size must be positive");
        return this with { Layout = Layout with { Height = height, Width = width } };
    }

    /// <summary>Adds traces to the figure (overlaid on the same axes unless their axis indices say otherwise).</summary>
    public Figure AddTraces(params Trace[] traces) => this with { Traces = [.. Traces, .. traces] };

    /// <summary>Plotly's figure JSON: {"data": [traces], "layout": {…}}; NaN and infinities are written as null.</summary>
    public string ToJson()
    {
        using var buffer = new MemoryStream();
        // The default encoder escapes <, > and &, so the JSON can sit inside a <script> element safely.
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("data");
            foreach (var t in Traces) t.WriteJson(w);
            w.WriteEndArray();
            Layout.WriteJson(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// A div plus a script that draws the figure: with <c>window.Plotly</c> when present, else loading plotly.js
    /// through require.js (as .NET Interactive's hosts do) or a script tag from the CDN.
    /// </summary>
    public string ToHtml()
    {
        var json = ToJson();
        // Content hash plus a display counter: deterministic for a given run, unique when a figure is shown twice.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..10];
        var id = $"mmeureka-plot-{hash}-{Interlocked.Increment(ref displayed)}";
        var size = Layout.Width is int w ? $"width:{w}px;" : "width:100%;";
        return $$"""
            <div id="{{id}}" class="mmeureka-plot" style="{{size}}height:{{Layout.Height}}px;"></div>
            <script type="text/javascript">
            (function () {
              var id = '{{id}}';
              var figure = {{json}};
              function draw(Plotly) { Plotly.newPlot(id, figure.data, figure.layout, { responsive: true, displaylogo: false }); }
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

    /// <summary>A one-line description for text-only hosts.</summary>
    public override string ToString()
    {
        var kinds = string.Join(", ", Traces.Select(t => t.Name is null ? t.Type : $"{t.Type} '{t.Name}'"));
        return $"Figure{(Layout.Title is null ? "" : $" '{Layout.Title}'")}: {Traces.Count} trace(s) [{kinds}]";
    }
}
