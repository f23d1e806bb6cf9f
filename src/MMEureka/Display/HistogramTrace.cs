using System.Text.Json;

namespace MMEureka.Display;

/// <summary>A plotly histogram trace: plotly bins the raw values in the browser. Non-finite values are dropped.</summary>
public sealed record HistogramTrace : Trace
{
    /// <summary>Creates a trace from raw values; <paramref name="bins"/> is plotly's maximum bin count (null: automatic).</summary>
    public HistogramTrace(Numbers values, int? bins = null)
    {
        if (bins is <= 0) throw new ArgumentOutOfRangeException(nameof(bins), bins, "histogram bins must be positive");
        Values = values.Values.Where(double.IsFinite).ToArray();
        Bins = bins;
    }

    /// <summary>The finite input values.</summary>
    public double[] Values { get; }

    /// <summary>Maximum number of bins, or null for plotly's choice.</summary>
    public int? Bins { get; }

    /// <summary>Opacity in [0, 1] (overlaid histograms are drawn translucent).</summary>
    public double Opacity { get; init; } = 1;

    /// <inheritdoc/>
    public override string Type => "histogram";

    private protected override void WriteFields(Utf8JsonWriter w)
    {
        PlotlyJson.Numbers(w, "x", Values);
        if (Bins is int n) w.WriteNumber("nbinsx", n);
        if (Opacity < 1) w.WriteNumber("opacity", Opacity);
    }
}
