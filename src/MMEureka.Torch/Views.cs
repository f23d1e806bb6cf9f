namespace MMEureka.Torch;

// Shape operations. The ones that can be expressed as new sizes/strides over the same storage are views; their
// backward maps the gradient back through the inverse view (or scatters it into zeros for narrowing ops).
public sealed partial class Tensor
{
    private Tensor ViewOf(int[] sizes, int[] strides, int offset) => new(Storage, sizes, strides, offset);

    /// <summary>Resolves one -1 in a requested shape from the element count.</summary>
    private int[] InferShape(long[] shape)
    {
        int infer = -1;
        long known = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException("only one dimension can be -1");
                infer = i;
            }
            else known *= shape[i];
        }
        var r = new int[shape.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (int)shape[i];
        if (infer >= 0)
        {
            if (known == 0 || Numel % known != 0)
                throw new ArgumentException($"shape [{string.Join(", ", shape)}] is invalid for input of size {Numel}");
            r[infer] = (int)(Numel / known);
        }
        if (NumelOf(r) != Numel)
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] is invalid for input of size {Numel} (shape {ShapeString(Sizes)})");
        return r;
    }

    /// <summary>Strides that show this layout with new sizes without copying, or null (PyTorch's computeStride:
    /// each run of old dimensions that is contiguous in memory may be split or merged freely).</summary>
    internal int[]? ViewStrides(int[] newSizes)
    {
        if (Sizes.Length == 0 || Numel == 0) return ContiguousStrides(newSizes);
        var newStrides = new int[newSizes.Length];
        int viewD = newSizes.Length - 1;
        long chunkBaseStride = Strides[^1], tensorNumel = 1, viewNumel = 1;
        for (int d = Sizes.Length - 1; d >= 0; d--)
        {
            tensorNumel *= Sizes[d];
            if (d == 0 || (Sizes[d - 1] != 1 && Strides[d - 1] != tensorNumel * chunkBaseStride))
            {
                while (viewD >= 0 && (viewNumel < tensorNumel || newSizes[viewD] == 1))
                {
                    newStrides[viewD] = (int)(viewNumel * chunkBaseStride);
                    viewNumel *= newSizes[viewD];
                    viewD--;
                }
                if (viewNumel != tensorNumel) return null;
                if (d > 0)
                {
                    chunkBaseStride = Strides[d - 1];
                    tensorNumel = 1;
                    viewNumel = 1;
                }
            }
        }
        return viewD == -1 ? newStrides : null;
    }

    /// <summary>The same elements with a new shape, without copying; throws when the layout does not allow it.</summary>
    public Tensor view(params long[] shape)
    {
        var sizes = InferShape(shape);
        var strides = ViewStrides(sizes) ?? throw new InvalidOperationException(
            $"view({string.Join(", ", shape)}) is not possible for a tensor of shape {ShapeString(Sizes)} with strides {ShapeString(Strides)}; use reshape()");
        var inputSizes = Sizes;
        return Autograd.Record(ViewOf(sizes, strides, Offset), "ViewBackward", [this], g => [g.reshape(inputSizes)]);
    }

    /// <summary>The same elements with a new shape: a view when possible, otherwise a copy.</summary>
    public Tensor reshape(params long[] shape)
    {
        var sizes = InferShape(shape);
        return ViewStrides(sizes) != null ? view(shape) : contiguous().view(shape);
    }

    internal Tensor reshape(int[] sizes)
    {
        var l = new long[sizes.Length];
        for (int i = 0; i < l.Length; i++) l[i] = sizes[i];
        return reshape(l);
    }

    /// <summary>Collapses dimensions <paramref name="start_dim"/>..<paramref name="end_dim"/> into one.</summary>
    public Tensor flatten(long start_dim = 0, long end_dim = -1)
    {
        if (Sizes.Length == 0) return reshape(1);
        int s = Dim(start_dim), e = Dim(end_dim);
        var shape = new List<long>();
        for (int i = 0; i < s; i++) shape.Add(Sizes[i]);
        long m = 1;
        for (int i = s; i <= e; i++) m *= Sizes[i];
        shape.Add(m);
        for (int i = e + 1; i < Sizes.Length; i++) shape.Add(Sizes[i]);
        return reshape(shape.ToArray());
    }

    /// <summary>Elements [start, start+length) along <paramref name="dim"/>, as a view.</summary>
    public Tensor narrow(long dim, long start, long length)
    {
        int d = Dim(dim);
        if (start < 0) start += Sizes[d];
        if (start < 0 || length < 0 || start + length > Sizes[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"narrow(dim {d}, start {start}, length {length}) is out of range for size {Sizes[d]}");
        return slice(d, start, start + length, 1);
    }

    /// <summary>Elements start, start+step, ... below <paramref name="end"/> along <paramref name="dim"/>, as a view
    /// (negative start/end count from the end; end is clamped to the size).</summary>
    public Tensor slice(long dim, long start, long end, long step = 1)
    {
        int d = Dim(dim);
        if (step <= 0) throw new ArgumentException("slice step must be positive");
        int n = Sizes[d];
        if (start < 0) start += n;
        if (end < 0) end += n;
        start = Math.Clamp(start, 0, n);
        end = Math.Clamp(end, start, n);
        int len = (int)((end - start + step - 1) / step);
        var sizes = (int[])Sizes.Clone();
        var strides = (int[])Strides.Clone();
        sizes[d] = len;
        strides[d] = Strides[d] * (int)step;
        var result = ViewOf(sizes, strides, Offset + (int)start * Strides[d]);
        var inputSizes = Sizes;
        int s0 = (int)start, st = (int)step;
        return Autograd.Record(result, "SliceBackward", [this], g =>
        {
            var gi = new Tensor(new float[NumelOf(inputSizes)], inputSizes);
            gi.slice(d, s0, s0 + (long)len * st, st).copy_(g);
            return [gi];
        });
    }

    /// <summary>The sub-tensor at <paramref name="index"/> along <paramref name="dim"/>, removing that dimension.</summary>
    public Tensor select(long dim, long index)
    {
        int d = Dim(dim);
        if (index < 0) index += Sizes[d];
        return narrow(d, index, 1).squeeze(d);
    }

    /// <summary>Swaps two dimensions (a view).</summary>
    public Tensor transpose(long dim0, long dim1)
    {
        int a = Dim(dim0), b = Dim(dim1);
        var sizes = (int[])Sizes.Clone();
        var strides = (int[])Strides.Clone();
        (sizes[a], sizes[b]) = (sizes[b], sizes[a]);
        (strides[a], strides[b]) = (strides[b], strides[a]);
        return Autograd.Record(ViewOf(sizes, strides, Offset), "TransposeBackward", [this], g => [g.transpose(a, b)]);
    }

    /// <summary>Transpose of a 2-D tensor.</summary>
    public Tensor t()
    {
        if (Sizes.Length != 2) throw new InvalidOperationException($"t() expects a 2-D tensor, got shape {ShapeString(Sizes)}");
        return transpose(0, 1);
    }

    /// <summary>The matrix transpose of the last two dimensions.</summary>
    public Tensor mT => transpose(-2, -1);

    /// <summary>Reorders dimensions: result dimension i is input dimension <paramref name="dims"/>[i] (a view).</summary>
    public Tensor permute(params long[] dims)
    {
        if (dims.Length != Sizes.Length) throw new ArgumentException($"permute needs {Sizes.Length} dimensions, got {dims.Length}");
        var perm = new int[dims.Length];
        var inverse = new long[dims.Length];
        var seen = new bool[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            perm[i] = Dim(dims[i]);
            if (seen[perm[i]]) throw new ArgumentException($"permute: dimension {perm[i]} repeated");
            seen[perm[i]] = true;
            inverse[perm[i]] = i;
        }
        var sizes = new int[perm.Length];
        var strides = new int[perm.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            sizes[i] = Sizes[perm[i]];
            strides[i] = Strides[perm[i]];
        }
        return Autograd.Record(ViewOf(sizes, strides, Offset), "PermuteBackward", [this], g => [g.permute(inverse)]);
    }

    /// <summary>Removes dimension <paramref name="dim"/> if it has size 1 (or all size-1 dimensions when null).</summary>
    public Tensor squeeze(long? dim = null)
    {
        var shape = new List<long>();
        int only = dim.HasValue ? Dim(dim.Value) : -1;
        for (int i = 0; i < Sizes.Length; i++)
            if (!(Sizes[i] == 1 && (only < 0 || only == i))) shape.Add(Sizes[i]);
        return view(shape.ToArray());
    }

    /// <summary>Inserts a dimension of size 1 at <paramref name="dim"/>.</summary>
    public Tensor unsqueeze(long dim)
    {
        int n = Sizes.Length + 1;
        long d = dim < 0 ? dim + n : dim;
        if (d < 0 || d >= n) throw new ArgumentOutOfRangeException(nameof(dim), $"unsqueeze dimension {dim} out of range for {Sizes.Length}-D tensor");
        var shape = new List<long>(Array.ConvertAll(Sizes, s => (long)s));
        shape.Insert((int)d, 1);
        return view(shape.ToArray());
    }

    /// <summary>Repeats size-1 dimensions (stride 0) to <paramref name="shape"/>; -1 keeps a size (a view).</summary>
    public Tensor expand(params long[] shape)
    {
        var target = new int[shape.Length];
        int lead = shape.Length - Sizes.Length;
        for (int i = 0; i < shape.Length; i++)
            target[i] = shape[i] == -1 ? Sizes[i - lead] : (int)shape[i];
        var strides = Broadcast.Strides(this, target);
        var inputSizes = Sizes;
        return Autograd.Record(ViewOf(target, strides, Offset), "ExpandBackward", [this], g => [SumTo(g, inputSizes)]);
    }

    /// <summary>Expands to the shape of <paramref name="other"/>.</summary>
    public Tensor expand_as(Tensor other) => expand(other.shape);

    /// <summary>Splits into pieces of <paramref name="size"/> along <paramref name="dim"/> (the last may be smaller); views.</summary>
    public Tensor[] split(long size, long dim = 0)
    {
        int d = Dim(dim);
        var parts = new List<Tensor>();
        for (long s = 0; s < Sizes[d]; s += size) parts.Add(narrow(d, s, Math.Min(size, Sizes[d] - s)));
        return parts.ToArray();
    }

    /// <summary>Splits into pieces of the given sizes along <paramref name="dim"/>; views.</summary>
    public Tensor[] split(long[] sizes, long dim = 0)
    {
        int d = Dim(dim);
        long total = 0;
        foreach (var s in sizes) total += s;
        if (total != Sizes[d]) throw new ArgumentException($"split sizes sum to {total}, but dimension {d} has size {Sizes[d]}");
        var parts = new Tensor[sizes.Length];
        long start = 0;
        for (int i = 0; i < sizes.Length; i++)
        {
            parts[i] = narrow(d, start, sizes[i]);
            start += sizes[i];
        }
        return parts;
    }

    /// <summary>Splits into <paramref name="chunks"/> nearly equal pieces along <paramref name="dim"/>; views.</summary>
    public Tensor[] chunk(long chunks, long dim = 0) => split((Sizes[Dim(dim)] + chunks - 1) / chunks, dim);

    /// <summary>Sums a (broadcast) gradient back to <paramref name="sizes"/>.</summary>
    internal static Tensor SumTo(Tensor g, int[] sizes)
    {
        if (g.Sizes.AsSpan().SequenceEqual(sizes)) return g;
        int lead = g.Sizes.Length - sizes.Length;
        var dims = new List<long>();
        for (int i = 0; i < g.Sizes.Length; i++)
            if (i < lead || (sizes[i - lead] == 1 && g.Sizes[i] != 1)) dims.Add(i);
        var summed = dims.Count == 0 ? g : g.sum(dims.ToArray(), keepdim: true);
        return summed.reshape(sizes);
    }
}

public static partial class torch
{
    /// <summary>Concatenates tensors along an existing dimension.</summary>
    public static Tensor cat(IList<Tensor> tensors, long dim = 0)
    {
        if (tensors.Count == 0) throw new ArgumentException("cat needs at least one tensor");
        var first = tensors[0];
        int d = first.Dim(dim);
        var sizes = (int[])first.Sizes.Clone();
        sizes[d] = 0;
        foreach (var t in tensors)
        {
            if (t.Sizes.Length != first.Sizes.Length)
                throw new ArgumentException($"cat: tensors must have the same number of dimensions ({Tensor.ShapeString(first.Sizes)} vs {Tensor.ShapeString(t.Sizes)})");
            for (int i = 0; i < sizes.Length; i++)
                if (i != d && t.Sizes[i] != first.Sizes[i])
                    throw new ArgumentException($"cat: sizes must match except in dimension {d} ({Tensor.ShapeString(first.Sizes)} vs {Tensor.ShapeString(t.Sizes)})");
            sizes[d] += t.Sizes[d];
        }
        var result = new Tensor(new float[Tensor.NumelOf(sizes)], sizes);
        var starts = new int[tensors.Count];
        using (no_grad())
        {
            int start = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                starts[i] = start;
                result.narrow(d, start, tensors[i].Sizes[d]).copy_(tensors[i]);
                start += tensors[i].Sizes[d];
            }
        }
        var inputs = tensors.ToArray();
        return Autograd.Record(result, "CatBackward", inputs, g =>
        {
            var grads = new Tensor?[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
                if (inputs[i].requires_grad) grads[i] = g.narrow(d, starts[i], inputs[i].Sizes[d]);
            return grads;
        });
    }

    /// <summary>Stacks equally-shaped tensors along a new dimension.</summary>
    public static Tensor stack(IList<Tensor> tensors, long dim = 0)
    {
        var expanded = new Tensor[tensors.Count];
        for (int i = 0; i < expanded.Length; i++) expanded[i] = tensors[i].unsqueeze(dim);
        return cat(expanded, dim);
    }
}
