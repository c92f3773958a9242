; test-gimp3.scm: Script-Fu helpers for test-gimp3.sh, loaded by every batch
; command it runs in GIMP 3.
;
; Copyright (C) 2026 the gimp-deepdream authors
; SPDX-License-Identifier: GPL-3.0-or-later
;
; Results go to standard output as "key: value" lines that the shell script
; reads; GIMP 3's batch Script-Fu speaks the v2 dialect (results in lists).

; The test image at 256x144, so that a dream takes a moment.
(define (dd3-open path)
  (let ((img (car (gimp-file-load RUN-NONINTERACTIVE path))))
    (gimp-image-scale img 256 144)
    img))

(define (dd3-layers img) (car (gimp-image-get-layers img)))
(define (dd3-layer img) (vector-ref (dd3-layers img) 0))

(define (dd3-say key value)
  (display key)
  (display ": ")
  (display value)
  (newline))

; The layers, top to bottom, children after their group:
; name|mode|opacity|x|y|width|height|mask|type, where type is GimpImageType
; (1 RGBA, 3 GRAYA) and a child's name has its group's before a "/".
(define (dd3-report img)
  (dd3-say "layers" (vector-length (dd3-layers img)))
  (dd3-report-layers (dd3-layers img) ""))

(define (dd3-report-layers layers prefix)
    (let loop ((i 0))
      (if (< i (vector-length layers))
          (let* ((layer (vector-ref layers i))
                 (offsets (gimp-drawable-get-offsets layer)))
            (dd3-say "layer"
                     (string-append
                      prefix (car (gimp-item-get-name layer)) "|"
                      (number->string (car (gimp-layer-get-mode layer))) "|"
                      (number->string (car (gimp-layer-get-opacity layer))) "|"
                      (number->string (car offsets)) "|"
                      (number->string (cadr offsets)) "|"
                      (number->string (car (gimp-drawable-get-width layer))) "|"
                      (number->string (car (gimp-drawable-get-height layer))) "|"
                      (if (< (car (gimp-layer-get-mask layer)) 0) "nomask" "mask") "|"
                      (number->string (car (gimp-drawable-type layer)))))
            (if (= (car (gimp-item-is-group layer)) TRUE)
                (dd3-report-layers (car (gimp-item-get-children layer))
                                   (string-append prefix (car (gimp-item-get-name layer)) "/")))
            (loop (+ i 1))))))

; The mean of a layer's alpha, 0..1.
(define (dd3-alpha-mean layer)
  (car (gimp-drawable-histogram layer HISTOGRAM-ALPHA 0.0 1.0)))

; The image as it looks, flattened in a copy, to a PNG.
(define (dd3-save-composite img path)
  (let* ((copy (car (gimp-image-duplicate img)))
         (flat (car (gimp-image-flatten copy))))
    (gimp-file-save RUN-NONINTERACTIVE copy path)
    (gimp-image-delete copy)))

; Runs thunk; prints "call: failed" when it fails (GIMP prints the
; procedure's message itself), "call: ok" when not.
(define (dd3-try thunk)
  (let ((result (catch 'failed (begin (thunk) 'done))))
    (dd3-say "call" (if (eq? result 'done) "ok" "failed"))))
