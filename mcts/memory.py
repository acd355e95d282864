"""Two low-level helpers for the search's compiled hot path, as numba intrinsics."""
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def borrowed(typingctx, array):
    """A view of `array` that numba does not reference-count, for use while `array` lives.

    numba increments and decrements, with atomic instructions, the count of every array passed
    to an inlined helper: once per call, so several times per simulation (perf: 16% of the
    search's time, and the memory barriers around them cost more). A kernel whose caller owns
    its arrays for the whole call can hand its helpers views without an owner."""
    if not isinstance(array, types.Array):
        return None

    def codegen(context, builder, signature, args):
        view = cgutils.create_struct_proxy(signature.return_type)(context, builder, value=args[0])
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        view.parent = cgutils.get_null_value(view.parent.type)
        return view._getvalue()
    return array(array), codegen


@intrinsic
def prefetch(typingctx, array, i, j):
    """Ask the CPU to bring array[i, j, 0] (a row of a 3-D array) into cache, without waiting."""
    if not (isinstance(array, types.Array) and array.ndim == 3):
        return None

    def codegen(context, builder, signature, args):
        array_type = signature.args[0]
        data = context.make_array(array_type)(context, builder, args[0])
        index = [context.cast(builder, args[1], signature.args[1], types.intp),
                 context.cast(builder, args[2], signature.args[2], types.intp),
                 context.get_constant(types.intp, 0)]
        pointer = cgutils.get_item_pointer(context, builder, array_type, data, index)
        byte_pointer, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        name = "llvm.prefetch.p0" if str(byte_pointer) == "ptr" else "llvm.prefetch.p0i8"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(
            ir.VoidType(), [byte_pointer, i32, i32, i32]), name)  # (opaque or typed pointers)
        # read, keep in all cache levels, data cache
        builder.call(fn, [builder.bitcast(pointer, byte_pointer), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.none(array, i, j), codegen
