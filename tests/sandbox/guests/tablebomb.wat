;; Grows a table an entry at a time until the host refuses; returns the final size (the
;; limit is 10 000 elements).
(module
  (table $t 1 funcref)
  (func (export "run") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1))))
    (table.size $t)))
