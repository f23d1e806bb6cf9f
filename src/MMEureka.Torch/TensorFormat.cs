using System.Globalization;
using System.Text;

namespace MMEureka.Torch;

/// <summary>PyTorch-style printing: whole numbers as "1.", otherwise 4 decimals, scientific notation for very large
/// or small magnitudes; more than 1000 elements are summarised with "..." (first and last 3 per dimension).</summary>
internal static class TensorFormat
{
    private const int Threshold = 1000, EdgeItems = 3;

    public static string Format(Tensor t)
    {
        var values = t.ToArray();
        bool summarize = values.Length > Threshold;
        var shown = new List<float>();
        Collect(t.Sizes, Tensor.ContiguousStrides(t.Sizes), values, 0, 0, summarize, shown);
        Func<float, string> fmt = Formatter(shown);
        int width = 0;
        foreach (var v in shown) width = Math.Max(width, fmt(v).Length);

        var sb = new StringBuilder("tensor(");
        Write(sb, t.Sizes, Tensor.ContiguousStrides(t.Sizes), values, 0, 0, summarize, v => fmt(v).PadLeft(width), "tensor(".Length);
        if (t.grad_fn != null) sb.Append($", grad_fn=<{t.grad_fn}>");
        else if (t.requires_grad) sb.Append(", requires_grad=True");
        sb.Append(')');
        return sb.ToString();
    }

    private static Func<float, string> Formatter(List<float> shown)
    {
        var inv = CultureInfo.InvariantCulture;
        bool allWhole = true;
        float maxAbs = 0, minAbs = float.PositiveInfinity;
        foreach (var v in shown)
        {
            if (!float.IsFinite(v)) continue;
            if (v != MathF.Round(v)) allWhole = false;
            float a = MathF.Abs(v);
            maxAbs = Math.Max(maxAbs, a);
            if (a > 0) minAbs = Math.Min(minAbs, a);
        }
        static string Special(float v) => float.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf";
        bool sci = maxAbs >= 1e8f || maxAbs / minAbs > 1000 || (!allWhole && minAbs < 1e-4f);
        if (sci) return v => float.IsFinite(v) ? v.ToString("0.0000e+00", inv) : Special(v);
        if (allWhole) return v => float.IsFinite(v) ? v.ToString("0", inv) + "." : Special(v);
        return v => float.IsFinite(v) ? v.ToString("0.0000", inv) : Special(v);
    }

    private static void Collect(int[] sizes, int[] strides, float[] values, int dim, int offset, bool summarize, List<float> shown)
    {
        if (sizes.Length == 0)
        {
            shown.Add(values[0]);
            return;
        }
        foreach (var i in Shown(sizes[dim], summarize))
        {
            if (i < 0) continue;
            if (dim == sizes.Length - 1) shown.Add(values[offset + i * strides[dim]]);
            else Collect(sizes, strides, values, dim + 1, offset + i * strides[dim], summarize, shown);
        }
    }

    /// <summary>Indices printed along a dimension; -1 stands for the "..." gap.</summary>
    private static IEnumerable<int> Shown(int n, bool summarize)
    {
        if (!summarize || n <= 2 * EdgeItems)
        {
            for (int i = 0; i < n; i++) yield return i;
            yield break;
        }
        for (int i = 0; i < EdgeItems; i++) yield return i;
        yield return -1;
        for (int i = n - EdgeItems; i < n; i++) yield return i;
    }

    private static void Write(StringBuilder sb, int[] sizes, int[] strides, float[] values, int dim, int offset,
        bool summarize, Func<float, string> fmt, int indent)
    {
        if (sizes.Length == 0)
        {
            sb.Append(fmt(values[0]).Trim());
            return;
        }
        sb.Append('[');
        bool first = true;
        bool last = dim == sizes.Length - 1;
        foreach (var i in Shown(sizes[dim], summarize))
        {
            if (!first)
            {
                sb.Append(',');
                if (last) sb.Append(' ');
                else sb.Append('\n', sizes.Length - 1 - dim).Append(' ', indent + dim + 1);
            }
            first = false;
            if (i < 0) sb.Append(last ? " ..." : "...");
            else if (last) sb.Append(fmt(values[offset + i * strides[dim]]));
            else Write(sb, sizes, strides, values, dim + 1, offset + i * strides[dim], summarize, fmt, indent);
        }
        sb.Append(']');
    }
}
