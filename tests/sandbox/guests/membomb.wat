;; Grows memory a page (64 KiB) at a time until the host says no (memory.grow returns -1), then returns
;; how many 64 KiB pages it got: the store limiter must have held it at the limit (16 MiB).
(module
  (memory 1)
  (func (export "run") (result i32)
    (loop $grow
      (br_if $grow (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    (memory.size)))
