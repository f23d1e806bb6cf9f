using System.Text.Json;

namespace MMEureka.Display;

/// <summary>How a scatter trace draws its points.</summary>
public enum ScatterMode
{
    /// <summary>Connected lines (a curve).</summary>
    Lines,
    /// <summary>Markers only (a point cloud).</summary>
    Markers,
    /// <summary>Both.</summary>
    LinesAndMarkers,
}

/// <summary>A plotly scatter trace: y against x as lines, markers or both. Non-finite values become gaps.</summary>
public sealed record ScatterTrace : Trace
{
    /// <summary>Creates a trace; x and y must have the same length.</summary>
    public ScatterTrace(Numbers x, Numbers y, ScatterMode mode = ScatterMode.Lines)
    {
        if (x.Count != y.Count) throw new ArgumentException($"scatter trace: x has {x.Count} values but y has {y.Count}");
        X = x.Values;
        Y = y.Values;
        Mode = mode;
    }

    /// <summary>Horizontal coordinates.</summary>
    public double[] X { get; }

    /// <summary>Vertical coordinates.</summary>
    public double[] Y { get; }

    /// <summary>Lines, markers or both.</summary>
    public ScatterMode Mode { get; init; }

    /// <inheritdoc/>
    public override string Type => "scatter";

    private protected override void WriteFields(Utf8JsonWriter w)
    {
        w.WriteString("mode", Mode switch { ScatterMode.Lines => "lines", ScatterMode.Markers => "markers", _ => "lines+markers" });
        PlotlyJson.Numbers(w, "x", X);
        PlotlyJson.Numbers(w, "y", Y);
    }
}
