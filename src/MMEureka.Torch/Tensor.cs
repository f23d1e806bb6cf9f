namespace MMEureka.Torch;

/// <summary>
/// An n-dimensional float32 array with reverse-mode autograd, shaped after TorchSharp's <c>torch.Tensor</c>.
/// </summary>
/// <remarks>
/// <para>Storage is a flat <c>float[]</c> shared by every view of it; a tensor is that storage plus sizes, strides
/// (in elements) and an offset. View operations (view/reshape of viewable layouts, narrow, transpose, permute,
/// squeeze, unsqueeze, expand) build a new header over the same storage and copy nothing.</para>
/// <para>Integer data (token ids, class targets, gather indices): the engine is float32 only. Token ids are passed
/// as plain <c>int[]</c> (plus a shape) to <c>embedding</c> and <c>cross_entropy</c>, which is the fast path; an
/// index <see cref="Tensor"/> is also accepted and holds whole numbers in its float storage (exact up to 2^24,
/// far above any vocabulary here). Results that are indices (<c>max(dim).indexes</c>, <c>argmax</c>,
/// <c>randint</c>, <c>multinomial</c>) are float tensors of whole numbers; read them with <c>data&lt;int&gt;()</c>.
/// Boolean masks are float tensors where non-zero means true.</para>
/// </remarks>
public sealed partial class Tensor
{
    internal readonly float[] Storage;
    internal readonly int[] Sizes;
    internal readonly int[] Strides;
    internal readonly int Offset;

    private bool _requiresGrad;
    internal Node? Node;

    internal Tensor(float[] storage, int[] sizes, int[] strides, int offset)
    {
        Storage = storage;
        Sizes = sizes;
        Strides = strides;
        Offset = offset;
    }

    /// <summary>A contiguous tensor over <paramref name="storage"/> (not copied).</summary>
    internal Tensor(float[] storage, int[] sizes) : this(storage, sizes, ContiguousStrides(sizes), 0) { }

    // ---------------------------------------------------------------- shape

    /// <summary>The sizes of each dimension.</summary>
    public long[] shape
    {
        get
        {
            var s = new long[Sizes.Length];
            for (int i = 0; i < s.Length; i++) s[i] = Sizes[i];
            return s;
        }
    }

    /// <summary>Number of dimensions.</summary>
    public long dim() => Sizes.Length;

    /// <summary>Number of dimensions.</summary>
    public long ndim => Sizes.Length;

    /// <summary>Total number of elements.</summary>
    public long numel() => Numel;

    internal int Numel => NumelOf(Sizes);

    /// <summary>Size of dimension <paramref name="d"/> (negative counts from the end).</summary>
    public long size(long d) => Sizes[Dim(d)];

    /// <summary>Stride (in elements) of dimension <paramref name="d"/>.</summary>
    public long stride(long d) => Strides[Dim(d)];

    /// <summary>True when the elements are laid out row-major without gaps, starting at the offset.</summary>
    public bool is_contiguous()
    {
        int expected = 1;
        for (int i = Sizes.Length - 1; i >= 0; i--)
        {
            if (Sizes[i] != 1 && Strides[i] != expected) return false;
            expected *= Sizes[i];
        }
        return true;
    }

    /// <summary>The logical elements of a contiguous tensor, as a span of its storage.</summary>
    internal Span<float> Span => Storage.AsSpan(Offset, Numel);

    // ---------------------------------------------------------------- values

    /// <summary>The single value of a one-element tensor.</summary>
    public T item<T>() where T : struct
    {
        if (Numel != 1) throw new InvalidOperationException($"item() needs a one-element tensor, got shape {ShapeString(Sizes)}");
        return Convert<T>(Storage[Offset]);
    }

    /// <summary>A copy of the logical elements in row-major order, converted to <typeparamref name="T"/>
    /// (float, double, int or long; integer conversions round to nearest).</summary>
    public T[] data<T>() where T : struct
    {
        var values = ToArray();
        if (typeof(T) == typeof(float)) return (T[])(object)values;
        var result = new T[values.Length];
        for (int i = 0; i < values.Length; i++) result[i] = Convert<T>(values[i]);
        return result;
    }

    /// <summary>A new contiguous row-major copy of the elements.</summary>
    internal float[] ToArray()
    {
        var dst = Buffers.Uninitialized(Numel);
        CopyTo(dst, 0);
        return dst;
    }

    private static T Convert<T>(float v) where T : struct
    {
        if (typeof(T) == typeof(float)) return (T)(object)v;
        if (typeof(T) == typeof(double)) return (T)(object)(double)v;
        if (typeof(T) == typeof(int)) return (T)(object)(int)MathF.Round(v);
        if (typeof(T) == typeof(long)) return (T)(object)(long)MathF.Round(v);
        if (typeof(T) == typeof(bool)) return (T)(object)(v != 0);
        throw new NotSupportedException($"item/data of type {typeof(T).Name} is not supported (float32 engine)");
    }

    /// <summary>Copies the logical elements, row-major, into <paramref name="dst"/> starting at <paramref name="dstOffset"/>.</summary>
    internal void CopyTo(float[] dst, int dstOffset)
    {
        if (is_contiguous())
        {
            Array.Copy(Storage, Offset, dst, dstOffset, Numel);
            return;
        }
        var loop = new StridedLoop(Sizes, [Strides], [Offset]);
        int pos = dstOffset;
        while (loop.Next())
        {
            int off = loop.Offset(0), n = loop.InnerSize, s = loop.InnerStride(0);
            if (s == 1) Array.Copy(Storage, off, dst, pos, n);
            else for (int i = 0; i < n; i++) dst[pos + i] = Storage[off + i * s];
            pos += n;
        }
    }

    // ---------------------------------------------------------------- autograd surface

    /// <summary>The accumulated gradient of a leaf after <see cref="backward"/>, or null.</summary>
    public Tensor? grad { get; set; }

    /// <summary>Whether operations on this tensor are recorded for autograd.</summary>
    public bool requires_grad
    {
        get => _requiresGrad;
        set
        {
            if (!value && Node != null)
                throw new InvalidOperationException("requires_grad can only be cleared on a leaf tensor; use detach() instead");
            _requiresGrad = value;
        }
    }

    /// <summary>Sets <see cref="requires_grad"/> and returns this tensor.</summary>
    public Tensor requires_grad_(bool requiresGrad = true)
    {
        requires_grad = requiresGrad;
        return this;
    }

    /// <summary>True for tensors not produced by a recorded operation (user-created tensors and parameters).</summary>
    public bool is_leaf => Node == null;

    /// <summary>Name of the operation that produced this tensor (e.g. "MulBackward"), or null for a leaf.</summary>
    public string? grad_fn => Node?.Name;

    /// <summary>A tensor sharing this storage but cut from the autograd graph.</summary>
    public Tensor detach() => new(Storage, Sizes, Strides, Offset);

    /// <summary>Back-propagates from this tensor. Without <paramref name="gradient"/> the tensor must hold one
    /// element (the loss); gradients accumulate into the <c>grad</c> of every leaf that requires grad.</summary>
    public void backward(Tensor? gradient = null, bool retain_graph = false) => Autograd.Backward(this, gradient, retain_graph);

    // ---------------------------------------------------------------- helpers

    internal int Dim(long d)
    {
        int n = Sizes.Length;
        long r = d < 0 ? d + n : d;
        if (r < 0 || r >= Math.Max(n, 1) || (n == 0))
            throw new ArgumentOutOfRangeException(nameof(d), $"dimension {d} is out of range for a tensor of shape {ShapeString(Sizes)}");
        return (int)r;
    }

    internal static int[] ContiguousStrides(int[] sizes)
    {
        var strides = new int[sizes.Length];
        int s = 1;
        for (int i = sizes.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= sizes[i];
        }
        return strides;
    }

    internal static int NumelOf(ReadOnlySpan<int> sizes)
    {
        long n = 1;
        foreach (var s in sizes) n *= s;
        if (n > Array.MaxLength) throw new ArgumentException($"tensor of {n} elements is too large for one float[]");
        return (int)n;
    }

    internal static int[] ToInt(ReadOnlySpan<long> shape)
    {
        var r = new int[shape.Length];
        for (int i = 0; i < r.Length; i++)
        {
            if (shape[i] < 0 || shape[i] > int.MaxValue) throw new ArgumentException($"invalid size {shape[i]} in shape");
            r[i] = (int)shape[i];
        }
        return r;
    }

    internal static string ShapeString(ReadOnlySpan<int> sizes) => "[" + string.Join(", ", sizes.ToArray()) + "]";

    internal bool SameShape(Tensor other) => Sizes.AsSpan().SequenceEqual(other.Sizes);

    /// <summary>This tensor if contiguous, otherwise a contiguous copy (recorded for autograd).</summary>
    public Tensor contiguous()
    {
        if (is_contiguous()) return this;
        var result = new Tensor(ToArray(), (int[])Sizes.Clone());
        return Autograd.Record(result, "CloneBackward", [this], g => [g]);
    }

    /// <summary>A contiguous copy that owns its storage (recorded for autograd).</summary>
    public Tensor clone()
    {
        var result = new Tensor(ToArray(), (int[])Sizes.Clone());
        return Autograd.Record(result, "CloneBackward", [this], g => [g]);
    }

    /// <summary>Prints like PyTorch: <c>tensor([[1.0000, 2.0000]], requires_grad=True)</c>.</summary>
    public override string ToString() => TensorFormat.Format(this);
}
