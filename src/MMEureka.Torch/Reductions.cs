using System.Numerics.Tensors;

namespace MMEureka.Torch;

// Reductions. A reduction over dimension d views the contiguous input as [outer, n, inner] and reduces the middle.
public sealed partial class Tensor
{
    private (Tensor x, int outer, int n, int inner) ReductionLayout(int d)
    {
        var x = is_contiguous() ? this : new Tensor(ToArray(), Sizes);
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= Sizes[i];
        for (int i = d + 1; i < Sizes.Length; i++) inner *= Sizes[i];
        return (x, outer, Sizes[d], inner);
    }

    private int[] ReducedSizes(int d, bool keepdim)
    {
        var sizes = new List<int>(Sizes);
        if (keepdim) sizes[d] = 1;
        else sizes.RemoveAt(d);
        return sizes.ToArray();
    }

    /// <summary>Sum of all elements (a 0-dim tensor).</summary>
    public Tensor sum()
    {
        var x = is_contiguous() ? this : new Tensor(ToArray(), Sizes);
        var result = Scalar(Simd.Sum(x.Span));
        var sizes = Sizes;
        return Autograd.Record(result, "SumBackward", [this], g => [g.expand(Array.ConvertAll(sizes, s => (long)s))]);
    }

    /// <summary>Sum over one dimension.</summary>
    public Tensor sum(long dim, bool keepdim = false)
    {
        int d = Dim(dim);
        var (x, outer, n, inner) = ReductionLayout(d);
        var dst = new float[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            int baseIn = x.Offset + o * n * inner;
            if (inner == 1) dst[o] = Simd.Sum(x.Storage.AsSpan(baseIn, n));
            else
            {
                var acc = dst.AsSpan(o * inner, inner);
                for (int j = 0; j < n; j++) Simd.Add(acc, x.Storage.AsSpan(baseIn + j * inner, inner), acc);
            }
        }
        var result = new Tensor(dst, ReducedSizes(d, keepdim));
        var sizes = Sizes;
        return Autograd.Record(result, "SumBackward", [this], g =>
            [(keepdim ? g : g.unsqueeze(d)).expand(Array.ConvertAll(sizes, s => (long)s))]);
    }

    /// <summary>Sum over several dimensions.</summary>
    public Tensor sum(long[] dims, bool keepdim = false)
    {
        var ds = new List<int>();
        foreach (var dd in dims) ds.Add(Dim(dd));
        ds.Sort();
        var r = this;
        for (int i = ds.Count - 1; i >= 0; i--) r = r.sum(ds[i], keepdim);
        return r;
    }

    /// <summary>Mean of all elements.</summary>
    public Tensor mean() => sum().div(Numel);

    /// <summary>Mean over one dimension.</summary>
    public Tensor mean(long dim, bool keepdim = false) => sum(dim, keepdim).div(Sizes[Dim(dim)]);

    /// <summary>Mean over several dimensions.</summary>
    public Tensor mean(long[] dims, bool keepdim = false)
    {
        long n = 1;
        foreach (var d in dims) n *= Sizes[Dim(d)];
        return sum(dims, keepdim).div(n);
    }

    /// <summary>Variance over one dimension; <paramref name="unbiased"/> divides by n-1 (Bessel), else by n.</summary>
    public Tensor var(long dim, bool unbiased = true, bool keepdim = false)
    {
        int d = Dim(dim);
        var centered = sub(mean(d, keepdim: true));
        return centered.mul(centered).sum(d, keepdim).div(unbiased ? Sizes[d] - 1 : Sizes[d]);
    }

    /// <summary>Variance of all elements.</summary>
    public Tensor var(bool unbiased = true)
    {
        var centered = sub(mean());
        return centered.mul(centered).sum().div(unbiased ? Numel - 1 : Numel);
    }

    /// <summary>Standard deviation over one dimension.</summary>
    public Tensor std(long dim, bool unbiased = true, bool keepdim = false) => var(dim, unbiased, keepdim).sqrt();

    /// <summary>Standard deviation of all elements.</summary>
    public Tensor std(bool unbiased = true) => var(unbiased).sqrt();

    /// <summary>Largest element (a 0-dim tensor).</summary>
    public Tensor max() => flatten().max(0).values;

    /// <summary>Smallest element (a 0-dim tensor).</summary>
    public Tensor min() => flatten().min(0).values;

    /// <summary>Largest values along <paramref name="dim"/> and their positions (first on ties).</summary>
    public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false) => Extreme(dim, keepdim, true);

    /// <summary>Smallest values along <paramref name="dim"/> and their positions (first on ties).</summary>
    public (Tensor values, Tensor indexes) min(long dim, bool keepdim = false) => Extreme(dim, keepdim, false);

    /// <summary>Position of the largest value along <paramref name="dim"/>.</summary>
    public Tensor argmax(long dim, bool keepdim = false) => Extreme(dim, keepdim, true).indexes;

    private (Tensor values, Tensor indexes) Extreme(long dim, bool keepdim, bool largest)
    {
        int d = Dim(dim);
        var (x, outer, n, inner) = ReductionLayout(d);
        var values = new float[outer * inner];
        var index = new int[outer * inner];
        var s = x.Storage;
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = x.Offset + o * n * inner + i;
                float best = s[b];
                int arg = 0;
                for (int j = 1; j < n; j++)
                {
                    float v = s[b + j * inner];
                    if (largest ? v > best || float.IsNaN(v) && !float.IsNaN(best) : v < best || float.IsNaN(v) && !float.IsNaN(best))
                    {
                        best = v;
                        arg = j;
                    }
                }
                values[o * inner + i] = best;
                index[o * inner + i] = arg;
            }
        var sizes = ReducedSizes(d, keepdim);
        var indexes = new Tensor(Array.ConvertAll(index, v => (float)v), sizes);
        var inputSizes = Sizes;
        var result = Autograd.Record(new Tensor(values, sizes), largest ? "MaxBackward" : "MinBackward", [this], g =>
        {
            // The gradient flows only to the selected element of each slice.
            var gc = g.contiguous();
            var gi = new float[NumelOf(inputSizes)];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                    gi[o * n * inner + index[o * inner + i] * inner + i] = gc.Storage[gc.Offset + o * inner + i];
            return [new Tensor(gi, inputSizes)];
        });
        return (result, indexes);
    }

    /// <summary>log(sum(exp(x))) over <paramref name="dim"/>, computed stably around the maximum.</summary>
    public Tensor logsumexp(long dim, bool keepdim = false)
    {
        int d = Dim(dim);
        var m = max(d, keepdim: true).values.detach();
        var r = sub(m).exp().sum(d, keepdim: true).log().add(m);
        return keepdim ? r : r.squeeze(d);
    }
}
