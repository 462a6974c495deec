/** Where keyboard focus goes when a screen opens or a form comes back with errors. */
import { useEffect, useRef, type RefObject } from 'react'
import type { FormErrors } from '../graphql/errors'

/** Focuses the returned heading (tabIndex -1) when the screen mounts. */
export function useHeadingFocus(): RefObject<HTMLHeadingElement | null> {
  const ref = useRef<HTMLHeadingElement>(null)
  useEffect(() => {
    ref.current?.focus()
  }, [])
  return ref
}

/** After a failed submit, focuses the first field marked invalid (or the form's alert). */
export function useErrorFocus(form: RefObject<HTMLFormElement | null>, errors: FormErrors) {
  useEffect(() => {
    if (!form.current) return
    const target =
      form.current.querySelector<HTMLElement>('[aria-invalid="true"]') ??
      (errors.form ? form.current.querySelector<HTMLElement>('[role="alert"]') : null)
    target?.focus()
  }, [form, errors])
}
