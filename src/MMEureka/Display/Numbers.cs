namespace MMEureka.Display;

/// <summary>
/// A column of numbers for charts and tables, converted implicitly from the arrays and lists notebooks have at hand
/// (double, float, int, long), so that <c>HtmlTable.FromSeries("step", steps, ("loss", losses))</c> works whatever the element type.
/// </summary>
public readonly struct Numbers
{
    readonly double[]? values;

    Numbers(double[] values) => this.values = values;

    /// <summary>The values as doubles (empty when default).</summary>
    public double[] Values => values ?? [];

    /// <summary>Number of values.</summary>
    public int Count => Values.Length;

    /// <summary>Copies any sequence of doubles (e.g. a LINQ query).</summary>
    public static Numbers Of(IEnumerable<double> values) => new(values.ToArray());

    /// <summary>0, 1, …, count - 1 (a default x axis).</summary>
    public static Numbers Range(int count) => new(Enumerable.Range(0, count).Select(i => (double)i).ToArray());

#pragma warning disable CS1591 // the conversions say what they do
    public static implicit operator Numbers(double[] v) => new((double[])v.Clone());
    public static implicit operator Numbers(float[] v) => new(Array.ConvertAll(v, x => (double)x));
    public static implicit operator Numbers(int[] v) => new(Array.ConvertAll(v, x => (double)x));
    public static implicit operator Numbers(long[] v) => new(Array.ConvertAll(v, x => (double)x));
    public static implicit operator Numbers(List<double> v) => new(v.ToArray());
    public static implicit operator Numbers(List<float> v) => new(v.ConvertAll(x => (double)x).ToArray());
    public static implicit operator Numbers(List<int> v) => new(v.ConvertAll(x => (double)x).ToArray());
#pragma warning restore CS1591
}
