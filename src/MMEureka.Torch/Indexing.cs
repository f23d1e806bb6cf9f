namespace MMEureka.Torch;

// Selection by index or mask. Index arguments are whole numbers (int[] or a float tensor of whole numbers).
public sealed partial class Tensor
{
    internal static int[] Indices(Tensor index)
    {
        var values = index.ToArray();
        var r = new int[values.Length];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (int)values[i];
            if (r[i] != values[i]) throw new ArgumentException($"index tensor holds a non-integer value {values[i]} at position {i}");
        }
        return r;
    }

    /// <summary>Rows (slices along <paramref name="dim"/>) at the given positions, in that order; repeats allowed.</summary>
    public Tensor index_select(long dim, int[] index)
    {
        int d = Dim(dim);
        var (x, outer, n, inner) = ReductionLayout(d);
        foreach (var i in index)
            if (i < 0 || i >= n) throw new ArgumentOutOfRangeException(nameof(index), $"index_select: index {i} out of range for dimension {d} of size {n}");
        var sizes = (int[])Sizes.Clone();
        sizes[d] = index.Length;
        var dst = new float[NumelOf(sizes)];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < index.Length; j++)
                Array.Copy(x.Storage, x.Offset + (o * n + index[j]) * inner, dst, (o * index.Length + j) * inner, inner);
        var inputSizes = Sizes;
        return Autograd.Record(new Tensor(dst, sizes), "IndexSelectBackward", [this], g =>
        {
            var gc = g.contiguous();
            var gi = new float[NumelOf(inputSizes)];
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < index.Length; j++)
                {
                    var src = gc.Storage.AsSpan(gc.Offset + (o * index.Length + j) * inner, inner);
                    var acc = gi.AsSpan((o * n + index[j]) * inner, inner);
                    Simd.Add(acc, src, acc);
                }
            return [new Tensor(gi, inputSizes)];
        });
    }

    /// <summary>index_select with an index tensor of whole numbers.</summary>
    public Tensor index_select(long dim, Tensor index) => index_select(dim, Indices(index));

    /// <summary>out[..., j, ...] = this[..., index[..., j, ...], ...] along <paramref name="dim"/>; the index has the
    /// input's shape except along <paramref name="dim"/>.</summary>
    public Tensor gather(long dim, Tensor index)
    {
        int d = Dim(dim);
        if (index.Sizes.Length != Sizes.Length)
            throw new ArgumentException($"gather: index shape {ShapeString(index.Sizes)} must have {Sizes.Length} dimensions");
        for (int i = 0; i < Sizes.Length; i++)
            if (i != d && index.Sizes[i] != Sizes[i])
                throw new ArgumentException($"gather: index shape {ShapeString(index.Sizes)} must match input shape {ShapeString(Sizes)} except in dimension {d}");
        var (x, outer, n, inner) = ReductionLayout(d);
        var idx = Indices(index);
        int m = index.Sizes[d];
        var dst = new float[idx.Length];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < m; j++)
                for (int i = 0; i < inner; i++)
                {
                    int p = (o * m + j) * inner + i;
                    int s = idx[p];
                    if (s < 0 || s >= n) throw new ArgumentOutOfRangeException(nameof(index), $"gather: index {s} out of range for dimension {d} of size {n}");
                    dst[p] = x.Storage[x.Offset + (o * n + s) * inner + i];
                }
        var inputSizes = Sizes;
        return Autograd.Record(new Tensor(dst, (int[])index.Sizes.Clone()), "GatherBackward", [this], g =>
        {
            var gc = g.ToArray();
            var gi = new float[NumelOf(inputSizes)];
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < m; j++)
                    for (int i = 0; i < inner; i++)
                    {
                        int p = (o * m + j) * inner + i;
                        gi[(o * n + idx[p]) * inner + i] += gc[p];
                    }
            return [new Tensor(gi, inputSizes)];
        });
    }

    /// <summary>Copy with <paramref name="value"/> where <paramref name="mask"/> (broadcast) is non-zero.</summary>
    public Tensor masked_fill(Tensor mask, float value) => torch.where(mask, Scalar(value), this);
}

public static partial class torch
{
    /// <summary>Element-wise choice: x where <paramref name="condition"/> is non-zero, else y (all broadcast).</summary>
    public static Tensor where(Tensor condition, Tensor x, Tensor y)
    {
        var sizes = Broadcast.Shape(Broadcast.Shape(condition.Sizes, x.Sizes), y.Sizes);
        var dst = new float[Tensor.NumelOf(sizes)];
        var loop = new StridedLoop(sizes,
            [Broadcast.Strides(condition, sizes), Broadcast.Strides(x, sizes), Broadcast.Strides(y, sizes), Tensor.ContiguousStrides(sizes)],
            [condition.Offset, x.Offset, y.Offset, 0]);
        while (loop.Next())
        {
            int co = loop.Offset(0), cs = loop.InnerStride(0), xo = loop.Offset(1), xs = loop.InnerStride(1);
            int yo = loop.Offset(2), ys = loop.InnerStride(2), o = loop.Offset(3);
            for (int i = 0; i < loop.InnerSize; i++)
                dst[o + i] = condition.Storage[co + i * cs] != 0 ? x.Storage[xo + i * xs] : y.Storage[yo + i * ys];
        }
        var result = new Tensor(dst, sizes);
        return Autograd.Record(result, "WhereBackward", [x, y], g =>
        {
            var zero = Tensor.Scalar(0);
            return
            [
                x.requires_grad ? Tensor.SumTo(where(condition, g, zero), x.Sizes) : null,
                y.requires_grad ? Tensor.SumTo(where(condition, zero, g), y.Sizes) : null,
            ];
        });
    }
}
