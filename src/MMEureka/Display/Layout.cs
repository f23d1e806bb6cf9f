using System.Text.Json;

namespace MMEureka.Display;

/// <summary>A text label placed in paper coordinates (subplot titles).</summary>
public sealed record Annotation(string Text, double X, double Y);

/// <summary>
/// A plotly layout: title, size, legend, bar mode, and the axes. <see cref="XAxes"/>[0] is plotly's "xaxis",
/// [1] is "xaxis2" and so on; a single chart has one of each, a subplot grid one per cell.
/// </summary>
public sealed record Layout
{
    /// <summary>Figure title.</summary>
    public string? Title { get; init; }

    /// <summary>Height in pixels.</summary>
    public int Height { get; init; } = 420;

    /// <summary>Width in pixels, or null to fill the container.</summary>
    public int? Width { get; init; }

    /// <summary>Legend on or off; null lets plotly decide (on when there are several traces).</summary>
    public bool? ShowLegend { get; init; }

    /// <summary>Plotly bar mode ("group", "overlay", "stack"), or null.</summary>
    public string? BarMode { get; init; }

    /// <summary>The x axes, in plotly's order.</summary>
    public IReadOnlyList<Axis> XAxes { get; init; } = [new Axis()];

    /// <summary>The y axes, in plotly's order.</summary>
    public IReadOnlyList<Axis> YAxes { get; init; } = [new Axis()];

    /// <summary>Free text labels (subplot titles).</summary>
    public IReadOnlyList<Annotation> Annotations { get; init; } = [];

    internal void WriteJson(Utf8JsonWriter w)
    {
        w.WriteStartObject("layout");
        PlotlyJson.Title(w, Title);
        w.WriteNumber("height", Height);
        if (Width is int width) w.WriteNumber("width", width);
        else w.WriteBoolean("autosize", true);
        if (ShowLegend is bool legend) w.WriteBoolean("showlegend", legend);
        if (BarMode is not null) w.WriteString("barmode", BarMode);
        w.WriteStartObject("margin");
        w.WriteNumber("l", 60);
        w.WriteNumber("r", 30);
        w.WriteNumber("t", Title is null && Annotations.Count == 0 ? 30 : 60);
        w.WriteNumber("b", 50);
        w.WriteEndObject();
        for (int i = 0; i < XAxes.Count; i++) XAxes[i].WriteJson(w, i == 0 ? "xaxis" : $"xaxis{i + 1}");
        for (int i = 0; i < YAxes.Count; i++) YAxes[i].WriteJson(w, i == 0 ? "yaxis" : $"yaxis{i + 1}");
        if (Annotations.Count > 0)
        {
            w.WriteStartArray("annotations");
            foreach (var a in Annotations)
            {
                w.WriteStartObject();
                PlotlyJson.Text(w, "text", a.Text);
                w.WriteNumber("x", a.X);
                w.WriteNumber("y", a.Y);
                w.WriteString("xref", "paper");
                w.WriteString("yref", "paper");
                w.WriteString("xanchor", "center");
                w.WriteString("yanchor", "bottom");
                w.WriteBoolean("showarrow", false);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }
}
